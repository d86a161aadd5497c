// pageedits: the log pane's window as history paging and "show context" edit it
// (history.js, context.js): older entries put above it at once, the newest
// dropped when the reader went far back, context blocks beside a line. Methods
// of LogView (view.js installs them on its prototype), so the counts stay the
// view's own. Never fetches anything.

import { prepareLine, separatorElement } from "./render.js";

export const pageEdits = {
  /**
   * History paging (history.js): put older entries above the window at once,
   * line items `{data, id, source}` (source: a merged view's file) or
   * separators `{kind: "sep", sepKind, message}`, oldest first. The caller
   * keeps the scroll position and the bound.
   */
  prependEntries(items) {
    const elements = [];
    const records = new Map(); // per file: the record a line's level may continue
    for (const item of items) {
      if (item.kind === "sep") { elements.push(separatorElement(item.sepKind, item.message)); this.sepCount++; continue; }
      const key = item.source ? item.source.index : -1;
      const before = records.get(key);
      const rec = prepareLine(item.data, before);
      records.set(key, rec.record);
      elements.push(this._drawn(rec, item.source ?? null, item.data, before, undefined, item.id)); // older: nothing continues it
    }
    const CHUNK = this.constructor.CHUNK;
    for (let end = elements.length; end > 0; end -= CHUNK) {
      const chunk = document.createElement("div");
      chunk.className = "chunk";
      chunk.append(...elements.slice(Math.max(0, end - CHUNK), end));
      this.list.prepend(chunk);
    }
    this.domCount += elements.length;
    this.onChange();
  },

  /** Drop `n` entries from the bottom (scrolled back: the far end) and what waits to be shown below them. */
  dropNewest(n) {
    this.lastOf.clear(); // the entries a continuation could join are going
    this.pending = [];
    this.pendingHead = 0;
    this.skipped = 0;
    while (n > 0 && this.list.lastElementChild) {
      const chunk = this.list.lastElementChild;
      const entry = chunk.lastElementChild;
      if (!entry) { chunk.remove(); continue; }
      if (entry.classList.contains("sep")) this.sepCount--;
      entry.remove();
      this.domCount--;
      n--;
    }
    if (this.list.lastElementChild && !this.list.lastElementChild.childElementCount) this.list.lastElementChild.remove();
    this.onChange();
  },

  /** Put entries (context blocks, counted as separators) beside a line of the window. */
  insertBeside(line, before, after) {
    for (const el of [before, after]) {
      if (!el) continue;
      // A node goes before or after the line (its neighbours stay in place).
      line.parentNode.insertBefore(el, el === before ? line : line.nextSibling);
      this.domCount++;
      this.sepCount++;
    }
    this.onChange();
  },
};
