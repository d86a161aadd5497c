// jumptime: the "Jump to time" control. Owns its small form, reading what the
// reader typed as the server's TIME (an RFC 3339 time, or how long ago:
// `90s`, `15m`, `2h`, `3d`; see the README's `since=`), and saying at once
// what cannot be one. The place is reported through onJump(since): the app
// opens the view there (history.js, GET api/lines?since=) from where it can
// follow on to the live end. Never fetches a line and never touches the pane.

const $ = (id) => document.getElementById(id);

const RELATIVE = /^(\d+)\s*(s|m|h|d)$/i;
// RFC 3339, with `T` or a space, seconds and fraction optional, zone optional (the server's zone then).
const ABSOLUTE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * What the reader typed as the server's TIME: {since} (canonical: `15m`,
 * `2026-11-30T04:00:00Z`, `2026-11-30T04:00:00` without a zone) or {error}
 * saying what a time looks like (pure).
 */
export function parseTimeInput(text) {
  const t = String(text).trim();
  if (!t) return { error: "Type a time, or how long ago (15m)." };
  const rel = RELATIVE.exec(t);
  if (rel) return { since: `${Number(rel[1])}${rel[2].toLowerCase()}` };
  const abs = ABSOLUTE.exec(t);
  if (!abs) return { error: `“${t}” is not a time: write 2026-11-30T04:00:00Z, 2026-11-30 04:00 or how long ago (90s, 15m, 2h, 3d).` };
  const [, date, hm, sec, zone] = abs;
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi] = hm.split(":").map(Number);
  const s = sec ? Number(sec.slice(1, 3)) : 0;
  const real = new Date(Date.UTC(y, mo - 1, d));
  if (real.getUTCMonth() !== mo - 1 || real.getUTCDate() !== d || h > 23 || mi > 59 || s > 60) {
    return { error: `“${t}” is not a date and time that exists.` };
  }
  const z = !zone ? "" : zone.toUpperCase() === "Z" ? "Z" : zone.includes(":") ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return { since: `${date}T${hm}${sec ? sec.replace(",", ".") : ":00"}${z}` };
}

export class JumpToTime {
  /** path(): the one file shown, or null; onJump(since): open the view at that time. */
  constructor({ path, onJump }) {
    this.path = path;
    $("time-open").addEventListener("click", () => this.toggle());
    $("time-form").addEventListener("submit", (e) => { e.preventDefault(); this.go(); });
    $("time-form").addEventListener("keydown", (e) => { if (e.key === "Escape") this.close(); });
    $("time-input").addEventListener("input", () => { $("time-error").hidden = true; });
    this.onJump = onJump;
  }

  toggle() {
    if (!$("time-form").hidden) { this.close(); return; }
    $("time-form").hidden = false;
    $("time-open").setAttribute("aria-expanded", "true");
    const path = this.path();
    $("time-input").disabled = !path;
    this._error(path ? "" : "Open one file to jump to a time in it.");
    $("time-input").focus();
  }

  close() {
    $("time-form").hidden = true;
    $("time-open").setAttribute("aria-expanded", "false");
  }

  go() {
    if (!this.path()) return;
    const r = parseTimeInput($("time-input").value);
    if (r.error) { this._error(r.error); return; }
    this.close();
    this.onJump(r.since);
  }

  _error(text) {
    $("time-error").textContent = text;
    $("time-error").hidden = !text;
  }
}
