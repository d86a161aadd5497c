// searchpanel: the search panel. Owns searching a file's whole history on the
// server (GET api/search/<path>, Server-Sent Events: `hit`, `progress`,
// `done`; see the README), newest hit first, its progress bar (bytes scanned
// of the history's total), each hit with a line of context either side, and
// a click on a hit, reported through onOpen(id) (the app opens the log at that
// line, history.js). Closing the panel or a new search closes the connection,
// which stops the scan on the server at once. Never touches the log pane and
// never opens the live stream.

import { encodePath } from "./connection.js";
import { formatSize } from "./files.js";
import { makeHighlighter } from "./render.js";
import { connect } from "./sse.js";
import { patternFor } from "./state.js";

const $ = (id) => document.getElementById(id);
export const HIT_LIMIT = 500; // hits asked for: the panel stays light, and the done line says when there were more
const CONTEXT = 1;

/** The URL of a search of `path`'s history for `pattern`, newest first (pure). */
export function searchUrl(path, pattern, limit = HIT_LIMIT) {
  const q = new URLSearchParams({ q: pattern, context: String(CONTEXT), limit: String(limit) });
  return `api/search/${encodePath(path)}?${q}`;
}

/** "12.3 MB of 40 MB" (pure). */
export function progressText(p) {
  return `${scannedText(p)} of ${amount(p, p.total_bytes)}`;
}

/** How much a search read: bytes, or entries on a Redis-backed node (`unit: "entries"`) (pure). */
export function scannedText(p) {
  return amount(p, p.scanned_bytes);
}

function amount(p, n) {
  n = Number(n) || 0;
  return p.unit === "entries" ? `${n.toLocaleString()} entr${n === 1 ? "y" : "ies"}` : formatSize(n);
}

function textLine(cls, text, highlight) {
  const div = document.createElement("div");
  div.className = cls;
  let at = 0;
  for (const m of highlight ? highlight(text) : []) {
    div.append(document.createTextNode(text.slice(at, m.start)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(m.start, m.end);
    div.append(mark);
    at = m.end;
  }
  div.append(document.createTextNode(text.slice(at)));
  return div;
}

export class SearchPanel {
  /** path(): the one file shown, or null (merged: no search); onOpen(id): open the log at that line. */
  constructor({ path, onOpen }) {
    this.path = path;
    this.onOpen = onOpen;
    this.conn = null;
    this.hits = 0;
    this.opts = { regex: false, caseSensitive: false };
    $("search-open").addEventListener("click", () => this.toggle());
    $("search-close").addEventListener("click", () => this.close());
    $("search-form").addEventListener("submit", (e) => { e.preventDefault(); this.search(); });
    for (const [id, key] of [["search-regex", "regex"], ["search-case", "caseSensitive"]]) {
      $(id).addEventListener("click", () => {
        this.opts[key] = !this.opts[key];
        $(id).setAttribute("aria-pressed", String(this.opts[key]));
        if ($("search-input").value) this.search();
      });
    }
    $("search-panel").addEventListener("keydown", (e) => { if (e.key === "Escape") this.close(); });
    $("search-hits").addEventListener("click", (e) => this._pick(e));
    $("search-hits").addEventListener("keydown", (e) => { if (e.key === "Enter") this._pick(e); });
  }

  get isOpen() { return !$("search-panel").hidden; }

  toggle() {
    if (this.isOpen) this.close();
    else this.open();
  }

  open() {
    $("search-panel").hidden = false;
    $("search-open").setAttribute("aria-expanded", "true");
    this.fileChanged();
    $("search-input").focus();
    $("search-input").select();
  }

  close() {
    this._stop();
    $("search-panel").hidden = true;
    $("search-open").setAttribute("aria-expanded", "false");
    $("scroller").focus();
  }

  /** The open files changed: a search of another file's history is over. */
  fileChanged() {
    const path = this.path();
    if (path === this.searched) return;
    this._stop();
    this.searched = null;
    $("search-hits").replaceChildren();
    $("search-progress").hidden = true;
    $("search-error").hidden = true;
    $("search-input").disabled = !path;
    $("search-state").textContent = path ? `Searches all of ${path}, its rotations too, newest first.`
      : "Open one file to search its history.";
  }

  _stop() {
    if (this.conn) this.conn.close(); // closing the connection stops the scan on the server
    this.conn = null;
  }

  /** Search the history of the file shown for the box's pattern; hits replace the last search's. */
  search() {
    this._stop();
    const path = this.path();
    const text = $("search-input").value;
    $("search-hits").replaceChildren();
    $("search-error").hidden = true;
    this.searched = path;
    this.hits = 0;
    if (!path || !text) {
      $("search-progress").hidden = true;
      $("search-state").textContent = "";
      return;
    }
    const highlight = makeHighlighter({ text, regex: this.opts.regex, caseSensitive: this.opts.caseSensitive, invert: false });
    $("search-progress").hidden = false;
    $("search-progress").removeAttribute("value"); // indeterminate until the first progress
    $("search-state").textContent = "Searching…";
    let finished = false;
    const conn = connect(searchUrl(path, patternFor({ text, ...this.opts })), {
      onopen: () => {},
      onevents: (events) => {
        if (conn !== this.conn) return;
        const frag = document.createDocumentFragment();
        for (const e of events) {
          let info;
          try { info = JSON.parse(e.data); } catch { continue; }
          if (e.type === "hit") frag.append(this._hit(info, highlight));
          else if (e.type === "progress") this._progress(info);
          else if (e.type === "done") { finished = true; this._done(info); }
        }
        $("search-hits").append(frag);
      },
      onclose: (info) => {
        if (conn !== this.conn) return;
        this.conn = null;
        if (finished) return;
        $("search-progress").hidden = true;
        const err = $("search-error");
        err.textContent = info.error === "http" ? info.message : `The search stopped: ${info.message}`;
        err.hidden = false;
        $("search-state").textContent = this.hits ? `${this.hits.toLocaleString()} hits before it stopped` : "";
      },
    });
    this.conn = conn;
  }

  _hit(hit, highlight) {
    this.hits++;
    const li = document.createElement("li");
    li.className = "hit";
    li.tabIndex = 0;
    li.dataset.id = String(hit.id);
    li.title = "Open the log at this line";
    for (const c of hit.context_before || []) li.append(textLine("hit-ctx", String(c.text), null));
    li.append(textLine("hit-line", String(hit.text), highlight));
    for (const c of hit.context_after || []) li.append(textLine("hit-ctx", String(c.text), null));
    return li;
  }

  _progress(p) {
    const total = Number(p.total_bytes) || 0;
    const bar = $("search-progress");
    bar.max = Math.max(1, total);
    bar.value = Math.min(bar.max, Number(p.scanned_bytes) || 0);
    $("search-state").textContent = `${this.hits.toLocaleString()} hit${this.hits === 1 ? "" : "s"} · scanned ${progressText(p)}`;
  }

  _done(d) {
    $("search-progress").hidden = true;
    const n = Number(d.hits) || this.hits;
    const where = `${scannedText(d)} in ${(Number(d.elapsed_ms) || 0).toLocaleString()} ms`;
    $("search-state").textContent = d.complete === false
      ? `The first ${n.toLocaleString()} hits (newest first): there are more; narrow the pattern. Searched ${where}.`
      : `${n ? n.toLocaleString() : "No"} hit${n === 1 ? "" : "s"} in ${where}.`;
  }

  _pick(e) {
    const li = e.target.closest(".hit");
    if (!li) return;
    for (const other of $("search-hits").querySelectorAll(".hit.picked")) other.classList.remove("picked");
    li.classList.add("picked");
    this.onOpen(li.dataset.id);
  }
}
