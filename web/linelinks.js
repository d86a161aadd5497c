// linelinks: links to lines, and the actions on one line. Owns the small bar
// shown on the line under the pointer ("copy link"; in a filtered view also
// "show context", the unfiltered lines around it, in place), the range link
// offered when the reader selects several lines with the mouse, the line
// selected with the keyboard (`[`/`]`, then the arrows: it is focused and shows
// the same bar, so Tab reaches its buttons; Shift+arrows make a range; `y`
// copies its link), and the
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

/**
 * The line with an id above (`step` < 0) or below `line` in `list` (its
 * chunks' entries), or null past either end. Hidden lines (a level hidden)
 * are skipped: what the reader cannot see cannot be selected.
 */
export function lineAfter(list, line, step) {
  const walker = document.createTreeWalker(list, NodeFilter.SHOW_ELEMENT, (el) => (el.matches(".ln[data-id]")
    ? NodeFilter.FILTER_ACCEPT : el.parentNode === list ? NodeFilter.FILTER_SKIP : NodeFilter.FILTER_REJECT));
  walker.currentNode = line;
  const move = () => (step < 0 ? walker.previousNode() : walker.nextNode());
  for (let el = move(); el; el = move()) if (el.checkVisibility()) return el;
  return null;
}

export class LineLinks {
  /**
   * list: the log's lines (#lines); scroller: the pane that scrolls them;
   * path(line): the file of a line (the one file shown, or the line's own in
   * a merged view; with no line: the one file, or null when several are
   * shown: a range needs one file); filtered(): whether a filter hides lines
   * (context is offered then); onContext(line): show the unfiltered lines
   * around it; drawn(line): the line drawn in full (a plain row is drawn
   * first, lazyrows.js); onSelect(): a line was selected with the keyboard
   * (the view stops following it away); toast(text): say what was done.
   */
  constructor({ list, scroller, path, filtered, onContext, drawn, onSelect, toast }) {
    this.list = list;
    this.scroller = scroller;
    this.path = path;
    this.drawn = drawn;
    this.onSelect = onSelect;
    this.selected = null; // the line selected with the keyboard
    this.rangeStart = null; // Shift+arrows: the line the range started at
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
      else if (act === "link") this.copy(line, { at: line.dataset.id }, "Link to this line copied");
      else if (act === "range" && this.range) this.copyRange(line);
    });
    bar.addEventListener("mousedown", (e) => e.stopPropagation());
    list.addEventListener("keydown", (e) => this._key(e));
    // The pointer takes over from the keyboard: a press on a line leaves the selected one.
    list.addEventListener("mousedown", () => { if (this.selected) this._forget(); });
    list.addEventListener("mouseover", (e) => {
      if (this.range || this.selected) return; // the range's (or the selected line's) bar stays
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
    if (!this.path(line)) return;
    this.bar.parentElement?.classList.remove("has-actions");
    this.contextBtn.hidden = !this.filtered();
    this.rangeBtn.hidden = !this.range;
    if (this.range) this.rangeBtn.textContent = `Link ${this.range.count.toLocaleString()} lines`;
    line.classList.add("has-actions");
    line.append(this.bar);
  }

  _selection() {
    if (this.rangeStart) return; // a range made with the keyboard
    const found = selectedLines(this.list, document.getSelection());
    const span = found && this.path(null) ? found : null;
    const had = this.range;
    this.range = span;
    if (span) this.showOn(this.list.querySelector(`.ln[data-id="${CSS.escape(span.to)}"]`));
    else if (had) this.rangeBtn.hidden = true;
  }

  /**
   * Select `line` with the keyboard (or, with no line, the first line in view
   * going down, the last going up): focus it and show its bar. `extend`: the
   * lines from where the range started to it are the range.
   */
  select(line, extend = false) {
    if (!line) return;
    line = this.drawn(line);
    if (!extend) this.rangeStart = null;
    else if (!this.rangeStart) this.rangeStart = this.selected ?? line;
    for (const el of this.list.querySelectorAll(".ln.selected")) this._unmark(el);
    this.selected = line;
    this.range = null;
    if (this.rangeStart && this.rangeStart.isConnected && this.rangeStart !== line && this.path(null)) {
      const lines = [...this.list.querySelectorAll(".ln[data-id]")];
      const [a, b] = [lines.indexOf(this.rangeStart), lines.indexOf(line)].sort((x, y) => x - y);
      for (const el of lines.slice(a, b + 1)) el.classList.add("selected");
      this.range = { from: lines[a].dataset.id, to: lines[b].dataset.id, count: b - a + 1 };
    }
    line.classList.add("selected");
    line.tabIndex = 0; // a roving tab stop: the one focusable row, between the pane and its bar's buttons
    line.setAttribute("aria-current", "true"); // aria-selected needs a role a log line has not
    this.showOn(line);
    line.focus({ preventScroll: true });
    line.scrollIntoView({ block: "nearest" });
    this.onSelect();
  }

  /** `[` / `]`: the line above or below the selected one, or the last (first) line in view. */
  step(by, extend = false) {
    const current = this.selected?.isConnected ? this.selected : null;
    this.select(current ? lineAfter(this.list, current, by) : this._inView(by < 0), extend);
  }

  /** `y`: copy the link of the selected line (or of the keyboard's range). */
  copySelected() {
    const line = this.selected?.isConnected ? this.selected : null;
    if (!line) { this.toast("Select a line first: press [ or ]"); return; }
    if (this.range) this.copyRange(line);
    else this.copy(line, { at: line.dataset.id }, "Link to this line copied");
  }

  /** Leave the selected line (Escape): the pane has the focus again. */
  unselect() {
    this._forget();
    this.bar.remove();
    this.scroller.focus({ preventScroll: true });
  }

  _forget() {
    for (const el of this.list.querySelectorAll(".ln.selected")) this._unmark(el);
    this.selected = this.rangeStart = this.range = null;
  }

  _unmark(el) {
    el.classList.remove("selected");
    el.removeAttribute("tabindex");
    el.removeAttribute("aria-current");
  }

  /** The last (or first) line inside the pane (chunks off screen are not looked into). */
  _inView(last) {
    const box = this.scroller.getBoundingClientRect();
    let found = null;
    for (const chunk of this.list.children) {
      const c = chunk.getBoundingClientRect();
      if (c.bottom <= box.top) continue;
      if (c.top >= box.bottom) break;
      for (const el of chunk.querySelectorAll(":scope > .ln[data-id]")) {
        const r = el.getBoundingClientRect();
        if (r.height === 0 || r.top < box.top || r.bottom > box.bottom) continue;
        found = el;
        if (!last) return found;
      }
    }
    return found;
  }

  /** Keys on the selected line: arrows move (Shift: a range), Enter copies its link, Escape leaves it. */
  _key(e) {
    if (e.target !== this.selected || e.ctrlKey || e.metaKey || e.altKey) return;
    const moves = { ArrowUp: -1, ArrowDown: 1 };
    if (e.key in moves) this.step(moves[e.key], e.shiftKey);
    else if (e.key === "Enter") this.copySelected();
    else if (e.key === "Escape") this.unselect();
    else return;
    e.preventDefault();
    e.stopPropagation();
  }

  copyRange(line) {
    this.copy(line, { from: this.range.from, to: this.range.to }, `Link to these ${this.range.count.toLocaleString()} lines copied`);
  }

  async copy(line, anchor, done) {
    const link = lineLink(location.href.split("#")[0], this.path(line), anchor);
    const ok = await copyText(link);
    this.lastLink = link; // the tests read it (the clipboard may be closed to them)
    this.toast(ok ? done : "Copy the link from here: " + link);
  }
}
