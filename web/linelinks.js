// linelinks: links to lines, and the actions on one line. Owns the small bar
// shown on the line under the pointer ("copy link"; in a filtered view also
// "show context", the unfiltered lines around it, in place), the range link
// offered when the reader selects several lines with the mouse, and the
// links' form: `#file=app.log&at=ID` and `#file=app.log&from=ID&to=ID` (ids
// are byte positions, so a link names its line for good: opening it is
// state.anchor and history.js, which finds it after a rotation, a restart or
// on another web node). Never fetches and never draws a log line.

import { copyText } from "./toolbar.js";

const ICON_LINK = "M6.5 9.5a3 3 0 0 0 4.2 0l2.1-2.1a3 3 0 0 0-4.2-4.2L7.5 4.3M9.5 6.5a3 3 0 0 0-4.2 0L3.2 8.6a3 3 0 0 0 4.2 4.2l1.1-1.1";
const ICON_CONTEXT = "M3 3h10M3 6h10M5 8.5h6M3 11h10M3 14h10";

/**
 * The link to a line or a range of `file`: `base` (the page's address
 * without its hash) + `#file=…&at=ID` or `#file=…&from=ID&to=ID` (pure).
 */
export function lineLink(base, file, anchor) {
  const q = new URLSearchParams();
  q.set("file", file);
  if (anchor.at) q.set("at", anchor.at);
  else {
    q.set("from", anchor.from);
    q.set("to", anchor.to);
  }
  return `${base}#${q}`;
}

/**
 * The lines a selection spans in `list`: {from, to, count} (ids of the first
 * and last line, how many lines), or null if it is not two lines or more.
 */
export function selectedLines(list, selection) {
  if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
  const range = selection.getRangeAt(0);
  const lineOf = (node) => (node.nodeType === 1 ? node : node.parentElement)?.closest(".ln[data-id]");
  const a = lineOf(range.startContainer), b = lineOf(range.endContainer);
  if (!a || !b || a === b || !list.contains(a) || !list.contains(b)) return null;
  let count = 0, inside = false;
  for (const el of list.querySelectorAll(".ln[data-id]")) {
    if (el === a) inside = true;
    if (inside) count++;
    if (el === b) break;
  }
  return { from: a.dataset.id, to: b.dataset.id, count };
}

function button(act, label, path) {
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.act = act;
  b.title = label;
  b.setAttribute("aria-label", label);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
  p.setAttribute("d", path);
  svg.append(p);
  b.append(svg);
  return b;
}

export class LineLinks {
  /**
   * list: the log's lines (#lines); path(): the one file shown (links need
   * one); filtered(): whether a filter hides lines (context is offered then);
   * onContext(line): show the unfiltered lines around it; toast(text): say
   * what was done.
   */
  constructor({ list, path, filtered, onContext, toast }) {
    this.list = list;
    this.path = path;
    this.filtered = filtered;
    this.toast = toast;
    this.range = null;
    const bar = document.createElement("span");
    bar.className = "line-actions";
    this.linkBtn = button("link", "Copy a link to this line", ICON_LINK);
    this.contextBtn = button("context", "Show the lines around it, unfiltered", ICON_CONTEXT);
    this.rangeBtn = document.createElement("button");
    this.rangeBtn.type = "button";
    this.rangeBtn.dataset.act = "range";
    this.rangeBtn.className = "range-link";
    bar.append(this.rangeBtn, this.contextBtn, this.linkBtn);
    this.bar = bar;
    // The bar's clicks are its own: a JSON line's click (its tree) must not see them.
    bar.addEventListener("click", (e) => {
      e.stopPropagation();
      const act = e.target.closest("button")?.dataset.act;
      const line = bar.parentElement;
      if (!act || !line) return;
      if (act === "context") onContext(line);
      else if (act === "link") this.copy({ at: line.dataset.id }, "Link to this line copied");
      else if (act === "range" && this.range) {
        this.copy({ from: this.range.from, to: this.range.to }, `Link to these ${this.range.count.toLocaleString()} lines copied`);
      }
    });
    bar.addEventListener("mousedown", (e) => e.stopPropagation());
    list.addEventListener("mouseover", (e) => {
      if (this.range) return; // the range's bar stays on its last line
      const line = e.target.closest?.(".ln[data-id]");
      if (line && line !== bar.parentElement) this.showOn(line);
    });
    let timer = null;
    document.addEventListener("selectionchange", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this._selection(), 120);
    });
  }

  /** The bar on `line` (the range button only while a range is selected). */
  showOn(line) {
    if (!this.path()) return;
    this.bar.parentElement?.classList.remove("has-actions");
    this.contextBtn.hidden = !this.filtered();
    this.rangeBtn.hidden = !this.range;
    if (this.range) this.rangeBtn.textContent = `Link ${this.range.count.toLocaleString()} lines`;
    line.classList.add("has-actions");
    line.append(this.bar);
  }

  _selection() {
    const span = selectedLines(this.list, document.getSelection());
    const had = this.range;
    this.range = span;
    if (span) this.showOn(this.list.querySelector(`.ln[data-id="${CSS.escape(span.to)}"]`));
    else if (had) this.rangeBtn.hidden = true;
  }

  async copy(anchor, done) {
    const link = lineLink(location.href.split("#")[0], this.path(), anchor);
    const ok = await copyText(link);
    this.lastLink = link; // the tests read it (the clipboard may be closed to them)
    this.toast(ok ? done : "Copy the link from here: " + link);
  }
}
