// timefmt: how timestamps are shown: as written, in local time, in UTC, or
// relative ("3 s ago"). Pure apart from the remembered choice (local storage):
// turns a timestamp as written (RFC 3339, Python logging, nginx, syslog, common
// log format, klog, epoch seconds or milliseconds) into milliseconds and back
// into text. A timestamp it cannot read is shown as written.

export const TIME_MODES = ["written", "local", "utc", "relative"];
const KEY = "logstream.time";
const MONTHS = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

export function storedTimeMode() {
  const m = globalThis.localStorage?.getItem(KEY);
  return TIME_MODES.includes(m) ? m : "written";
}

export function storeTimeMode(mode) {
  if (mode === "written") localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, mode);
}

/** Milliseconds since the epoch of a timestamp as written (string or number), or null. */
export function toMillis(value, now = new Date()) {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value <= 0) return null;
    return value > 1e11 ? value : value * 1000; // epoch milliseconds, else seconds
  }
  if (typeof value !== "string") return null;
  const t = value.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return toMillis(Number(t));
  let m = /^(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (m) {
    const frac = m[7] ? `.${m[7].slice(0, 3).padEnd(3, "0")}` : "";
    const zone = m[8] ? (m[8] === "Z" ? "Z" : m[8].length === 5 ? `${m[8].slice(0, 3)}:${m[8].slice(3)}` : m[8]) : "";
    const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] || "00"}${frac}${zone}`);
    return Number.isNaN(ms) ? null : ms;
  }
  m = /^\[?(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]?$/.exec(t);
  if (m && m[2] in MONTHS) {
    const utc = Date.UTC(+m[3], MONTHS[m[2]], +m[1], +m[4], +m[5], +m[6]);
    return utc - (m[7] === "-" ? -1 : 1) * (m[8] * 60 + +m[9]) * 60000;
  }
  m = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(t); // syslog: no year
  if (m && m[1] in MONTHS) return new Date(now.getFullYear(), MONTHS[m[1]], +m[2], +m[3], +m[4], +m[5]).getTime();
  m = /^[IWEF](\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d+)$/.exec(t); // klog: no year
  if (m) return new Date(now.getFullYear(), +m[1] - 1, +m[2], +m[3], +m[4], +m[5], +m[6].slice(0, 3).padEnd(3, "0")).getTime();
  return null;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** `ms` as `mode` says (not "written"); `now` for relative times. */
export function formatTime(ms, mode, now = Date.now()) {
  const d = new Date(ms);
  if (mode === "utc") {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} `
      + `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}Z`;
  }
  if (mode === "local") {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
      + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }
  const s = Math.round((now - ms) / 1000);
  const a = Math.abs(s);
  const text = a < 60 ? `${a} s` : a < 3600 ? `${Math.floor(a / 60)} min` : a < 86400 ? `${Math.floor(a / 3600)} h`
    : `${Math.floor(a / 86400)} d`;
  return s < 0 ? `in ${text}` : `${text} ago`;
}
