// fields: a log line's structure, when it has one (pure, no DOM). A JSON object
// or a logfmt line (`level=info msg="signed in" user=42`) becomes its values and
// the time, level and message picked out by the names loggers use. The names
// mirror the server's logstream/fields.py, so the viewer and `where=` agree on
// what "level" or "msg" is. Never throws on a line: malformed JSON is just text.

export const TIME_KEYS = ["@timestamp", "timestamp", "time", "ts"];
export const LEVEL_KEYS = ["level", "lvl", "severity", "log.level", "levelname"];
export const MESSAGE_KEYS = ["msg", "message", "log", "event"];
const MAX_LINE = 1 << 16; // characters: longer lines are shown as text, unparsed

const LEVEL_NAMES = {
  trace: "trace", trc: "trace", verbose: "trace",
  debug: "debug", dbg: "debug",
  info: "info", inf: "info", information: "info", informational: "info", notice: "info",
  warn: "warn", warning: "warn", wrn: "warn",
  error: "error", err: "error", eror: "error", dpanic: "error",
  fatal: "fatal", critical: "fatal", crit: "fatal", panic: "fatal", emerg: "fatal",
  emergency: "fatal", alert: "fatal", ftl: "fatal",
};
const NUMERIC = [[60, "fatal"], [50, "error"], [40, "warn"], [30, "info"], [20, "debug"], [10, "trace"]];
// The viewer's four toggles: fatal goes with error, trace with debug.
const VIEW_LEVEL = { trace: "debug", debug: "debug", info: "info", warn: "warn", error: "error", fatal: "error" };

/** True if a line may be JSON or logfmt: the cheap test before parsing. */
export function looksStructured(text) {
  if (text.length > MAX_LINE) return false;
  const c = text.charCodeAt(0);
  if (c === 123) return true; // "{"
  return text.indexOf("=") > 0;
}

/** A level as one of fields.py's names (trace … fatal), or null. */
export function levelName(value) {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return null;
    for (const [bound, name] of NUMERIC) if (value >= bound) return name;
    return value >= 0 ? "trace" : null;
  }
  if (typeof value === "string") {
    const text = value.trim().toLowerCase();
    if (/^\d+$/.test(text)) return levelName(Number(text));
    return Object.hasOwn(LEVEL_NAMES, text) ? LEVEL_NAMES[text] : null;
  }
  return null;
}

/** The viewer's level (error, warn, info, debug) for a fields.py level name. */
export function viewLevel(name) { return name ? VIEW_LEVEL[name] : null; }

/** The value at `path`: the key itself, else a dotted path into nested objects; undefined if absent. */
export function lookup(values, path) {
  if (Object.hasOwn(values, path)) return values[path];
  let node = values;
  for (const part of path.split(".")) {
    if (node === null || typeof node !== "object" || Array.isArray(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

/**
 * `text`'s fields, or null: { kind: "json"|"logfmt", values, timeKey, time
 * (the value as written), level (trace … fatal), levelKey, message, messageKey }.
 */
export function parseFields(text) {
  if (!text || !looksStructured(text)) return null;
  const head = text.trimStart();
  let kind, values;
  if (head.startsWith("{")) {
    try { values = JSON.parse(head); } catch { return null; }
    if (values === null || typeof values !== "object" || Array.isArray(values)) return null;
    kind = "json";
  } else {
    values = parseLogfmt(text);
    if (!values) return null;
    kind = "logfmt";
  }
  const out = { kind, values, timeKey: null, time: null, level: null, levelKey: null, message: null, messageKey: null };
  for (const key of TIME_KEYS) {
    const v = values[key];
    if (Object.hasOwn(values, key) && (typeof v === "string" || typeof v === "number")) {
      out.timeKey = key; out.time = v; break;
    }
  }
  for (const key of LEVEL_KEYS) {
    const level = levelName(lookup(values, key));
    if (level) { out.level = level; out.levelKey = Object.hasOwn(values, key) ? key : key.split(".")[0]; break; }
  }
  for (const key of MESSAGE_KEYS) {
    if (Object.hasOwn(values, key) && typeof values[key] === "string") { out.messageKey = key; out.message = values[key]; break; }
  }
  return out;
}

/** logfmt as fields.py reads it: nothing but key=value pairs (two at least), else null. */
export function parseLogfmt(line) {
  const values = Object.create(null);
  let count = 0;
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line[i] === " ") i++;
    if (i >= n) break;
    const start = i;
    while (i < n && line[i] !== "=" && line[i] !== " " && line[i] !== '"') i++;
    const key = line.slice(start, i);
    if (!key || i >= n || line[i] !== "=") return null;
    i++;
    let value;
    if (i < n && line[i] === '"') {
      i++;
      let out = "";
      while (i < n && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < n) {
          i++;
          out += { n: "\n", t: "\t", r: "\r" }[line[i]] ?? line[i];
        } else out += line[i];
        i++;
      }
      if (i >= n) return null;
      i++;
      if (i < n && line[i] !== " ") return null;
      value = out;
    } else {
      const s = i;
      while (i < n && line[i] !== " ") i++;
      value = line.slice(s, i);
      if (value.includes('"')) return null;
    }
    if (!(key in values)) count++;
    values[key] = value;
  }
  if (count < 2) return null;
  return values; // no prototype: a key named __proto__ is just a key
}
