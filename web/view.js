// view: the log pane. Owns the bounded window of lines in the DOM, the batching
// of arriving lines (one DOM update per animation frame, within a time budget),
// following the bottom (a selection in the pane stops it), pausing, and the
// "N new lines" count.
//
// Promises kept here: a paused or scrolled-up view holds every arriving line
// (up to the window size; beyond it the oldest would be dropped from the window
// anyway, and a notice says how many) and shows them on resume; the DOM never
// holds more than `max` entries; a frame never spends more than ~8 ms on lines.

import { drawRows, drawRowsInView, mayBePlain, plainLineElement, rowsThatFit } from "./lazyrows.js";
import { pageEdits } from "./pageedits.js";
import { lineElement, prepareLine, separatorElement } from "./render.js";
import { setExpanded, toggleTree } from "./structured.js";

const FRAME_BUDGET_MS = 8;
// Lines live in chunks of CHUNK entries, each `content-visibility: auto`: the
// browser skips layout and paint of every chunk off screen, so a frame costs
// the same with 1,000 or 50,000 lines in the window.
const CHUNK = 100;

export class LogView {
  static CHUNK = CHUNK; // entries per chunk (pageedits.js builds chunks too)

  constructor({ scroller, list, onChange, max = 10000 }) {
    this.scroller = scroller;
    this.list = list;
    this.onChange = onChange; // called after counts change (toolbar, bars)
    this.max = max;
    this.pending = [];
    this.pendingHead = 0;
    this.skipped = 0; // lines that fell out of a full pending buffer
    this.domCount = 0; // entries in the DOM: lines and separators
    this.sepCount = 0; // separators among them (counts count log lines only)
    this.received = 0;
    this.cleared = false; // the reader cleared the view (the pane then says so)
    this.paused = false;
    this.heldSincePause = 0;
    this.following = true;
    this.newSinceFollow = 0;
    this.highlight = null;
    this.look = { pinned: [], rules: null, timeMode: "written" }; // how lines show (render.js)
    this.sources = null; // merged view: index -> {label, colour, title}
    this.records = new Map(); // per source: the record a continuation line inherits its level from
    this.seq = 0; // numbers every entry pushed
    this.lastOf = new Map(); // per source: the number of its latest entry (what a continuation continues)
    this.scheduled = false;
    this.lastScrollTop = 0;
    this.autoScrolling = false;
    this.frameStats = { frames: 0, maxMs: 0 };
    this.paneHeight = 800; // px, corrected by the ResizeObserver below
    this.drawScheduled = false;
    this.detached = false; // the window's far end is not the live end (history.js owns this)
    this.onReachEnd = null; // detached: the reader reached the bottom (scroll) or asked to follow
    this.onCleared = null; // the reader cleared the view

    scroller.addEventListener("scroll", () => this._onScroll(), { passive: true });
    scroller.addEventListener("wheel", (e) => { if (e.deltaY < 0) this._userScrolledUp(); }, { passive: true });
    new ResizeObserver(([entry]) => {
      this.paneHeight = entry.contentRect.height;
      if (this.following && !this.paused) this._stick();
      this._drawInView();
    }).observe(scroller);
    // Levels shown again, wrap: rows drawn plain may come into view.
    new MutationObserver(() => this._drawInView()).observe(list, { attributes: true, attributeFilter: ["class"] });
    // A chunk the browser skipped (content-visibility) is about to be shown: draw its plain rows.
    list.addEventListener("contentvisibilityautostatechange", (e) => {
      if (!e.skipped && e.target.parentNode === list) drawRows(e.target, this.highlight, this.look);
    }, true);
    // Selecting text in a moving log is hopeless: a selection in the pane stops
    // following (the window is then not trimmed, so the selected lines stay put).
    document.addEventListener("selectionchange", () => {
      const sel = document.getSelection();
      if (!sel || sel.isCollapsed || !this.following) return;
      if (list.contains(sel.anchorNode)) this.stopFollowing();
    });
  }

  get pendingCount() { return this.pending.length - this.pendingHead; }

  /** Log lines in the view (separators are not lines). */
  get lineCount() { return this.domCount - this.sepCount; }

  /**
   * Queue line events ({data, source, continuation}) for the next frame. A
   * continuation (group=1) goes to the entry before it of the same file.
   */
  addLines(items) {
    let added = 0;
    for (const item of items) {
      if (item.continuation && this._attach(item)) continue;
      const seq = ++this.seq;
      this.lastOf.set(item.source ? item.source.index : -1, seq);
      this._push({ kind: "line", data: item.data, source: item.source, seq, id: item.id });
      added++;
    }
    this.received += added;
    if (this.paused) this.heldSincePause += added;
    if (!this.following) this.newSinceFollow += added;
    this._schedule();
  }

  /**
   * Append a continuation's lines to the last entry of its file: still waiting,
   * or on screen (drawn again, expanded if it was). False if that entry is not
   * in the window any more: the lines then show as an entry of their own.
   */
  _attach(item) {
    const key = item.source ? item.source.index : -1;
    const last = this.lastOf.get(key); // undefined: a separator (or a clear) came after it
    if (last === undefined) return false;
    for (let i = this.pending.length - 1; i >= this.pendingHead; i--) {
      const p = this.pending[i];
      if (p.kind !== "line" || p.seq !== last) continue;
      p.data += `\n${item.data}`;
      if (item.id) p.id = item.id; // an entry's id is the place past its last line
      return true;
    }
    if (this.paused) return false; // never redraw the screen of a held view (simplest; could queue)
    const lines = this.list.getElementsByClassName("ln");
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i];
      if (line.seq !== last) continue;
      if (line.raw === undefined) return false;
      const rec = prepareLine(`${line.raw}\n${item.data}`, line.prevRecord);
      const fresh = this._drawn(rec, line.source, `${line.raw}\n${item.data}`, line.prevRecord, line.seq,
        item.id || line.dataset.id);
      const more = fresh.querySelector(".more");
      if (more && line.classList.contains("expanded")) setExpanded(fresh, more, true);
      line.replaceWith(fresh);
      this.records.set(key, rec.record);
      return true;
    }
    return false;
  }

  _drawn(rec, source, raw, before, seq, id) {
    return this._tagged(lineElement(rec, source, this.highlight, this.look), raw, before, seq, id);
  }

  /** An entry's element with what drawing it again takes (lazyrows.js carries it to the full row). */
  _tagged(el, raw, before, seq, id) {
    el.seq = seq; // which entry this is (view.lastOf)
    el.raw = raw; // what came, to draw it again with a continuation
    el.prevRecord = before; // the record its level was read after (not "before": Element.before() is the DOM's)
    if (id) el.dataset.id = id; // its place in the history (history.js, linelinks.js)
    return el;
  }

  addSeparator(kind, message) {
    this.lastOf.clear(); // nothing continues across a separator (a rotation, a reset, an error)
    this._push({ kind: "sep", sepKind: kind, message });
    this._schedule();
  }

  _push(item) {
    this.pending.push(item);
    if (this.pendingCount > this.max) {
      // Beyond the window: the oldest held line could never be on screen with
      // the newer ones. Count it so the notice can say so.
      const dropped = this.pending[this.pendingHead];
      this.pending[this.pendingHead++] = undefined;
      if (dropped.kind === "line") this.skipped++;
      if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pending.length) {
        this.pending = this.pending.slice(this.pendingHead);
        this.pendingHead = 0;
      }
    }
  }

  _schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this._flush());
    // A hidden tab gets no animation frames: keep the counts honest anyway.
    this.onChange();
  }

  _flush() {
    this.scheduled = false;
    if (this.paused) { this.onChange(); return; }
    const started = performance.now();
    // Detached from the live end (history.js): lines come only from paging forward, so the top gives way.
    let room = this.following || this.detached ? Infinity : Math.max(0, this.max - this.domCount);
    if (this.following && this.pendingCount > this.max) {
      // More than a window waiting: the older part would be trimmed at once.
      while (this.pendingCount > this.max) {
        const dropped = this.pending[this.pendingHead];
        this.pending[this.pendingHead++] = undefined;
        if (dropped.kind === "line") this.skipped++;
      }
    }
    const elements = [];
    // Following, a frame's lines beyond the last screenful are scrolled past
    // unseen: they are drawn plain (lazyrows.js), and in full if they come into view.
    const onScreen = this.following ? rowsThatFit(this.paneHeight, parseFloat(getComputedStyle(this.list).fontSize)) : 0;
    const plainBefore = this.following ? Math.min(room, this.pendingCount) - onScreen : 0;
    if (this.skipped && room > 0) {
      this.sepCount++;
      elements.push(separatorElement("skipped", `${this.skipped.toLocaleString()} older lines are not shown: they arrived while the view was held and fell outside the ${this.max.toLocaleString()}-line window (download the file to see everything)`));
      this.skipped = 0;
      room--;
    }
    while (room > 0 && this.pendingCount > 0) {
      const item = this.pending[this.pendingHead];
      this.pending[this.pendingHead++] = undefined;
      elements.push(this._element(item, elements.length < plainBefore));
      if (item.kind === "sep") this.sepCount++;
      room--;
      if ((elements.length & 63) === 0 && performance.now() - started > FRAME_BUDGET_MS) break;
    }
    if (this.pendingHead === this.pending.length) { this.pending = []; this.pendingHead = 0; }
    if (elements.length) {
      this._append(elements);
      this.domCount += elements.length;
      this._trim();
    }
    if (this.following) this._stick();
    const spent = performance.now() - started;
    this.frameStats.frames++;
    if (spent > this.frameStats.maxMs) this.frameStats.maxMs = spent;
    if (this.pendingCount > 0 && room > 0) this._schedule();
    this.onChange();
  }

  _element(item, plain) {
    if (item.kind === "sep") return separatorElement(item.sepKind, item.message);
    const key = item.source ? item.source.index : -1;
    const before = this.records.get(key);
    const rec = prepareLine(item.data, before);
    this.records.set(key, rec.record);
    if (plain && mayBePlain(rec)) return this._tagged(plainLineElement(rec, item.source), item.data, before, item.seq, item.id);
    return this._drawn(rec, item.source, item.data, before, item.seq, item.id);
  }

  /** Draw in full, at the next frame, the plain rows that are (nearly) in view. */
  _drawInView() {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => {
      this.drawScheduled = false;
      drawRowsInView(this.scroller, this.list, this.highlight, this.look);
    });
  }

  _append(elements) {
    let chunk = this.list.lastElementChild;
    let i = 0;
    while (i < elements.length) {
      if (!chunk || chunk.childElementCount >= CHUNK) {
        chunk = document.createElement("div");
        chunk.className = "chunk";
        this.list.appendChild(chunk);
      }
      const take = Math.min(CHUNK - chunk.childElementCount, elements.length - i);
      chunk.append(...elements.slice(i, i + take));
      i += take;
    }
  }

  _trim() {
    let excess = this.domCount - this.max;
    if (excess <= 0) return;
    this.domCount -= excess;
    while (excess > 0) {
      const chunk = this.list.firstElementChild;
      const n = chunk.childElementCount;
      if (n <= excess) {
        this.sepCount -= chunk.getElementsByClassName("sep").length;
        chunk.remove();
        excess -= n;
      } else {
        for (let i = 0; i < excess; i++) if (chunk.children[i].classList.contains("sep")) this.sepCount--;
        const range = document.createRange();
        range.setStartBefore(chunk.firstChild);
        range.setEndAfter(chunk.children[excess - 1]);
        range.deleteContents();
        excess = 0;
      }
    }
  }

  _stick() {
    this.autoScrolling = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.lastScrollTop = this.scroller.scrollTop;
  }

  _atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 24;
  }

  _onScroll() {
    const top = this.scroller.scrollTop;
    const wentUp = top < this.lastScrollTop - 1;
    this.lastScrollTop = top;
    if (this._atBottom()) {
      if (this.detached) this.onReachEnd?.("scroll");
      else if (!this.following) this.follow();
    } else if (this.following && wentUp) {
      this._userScrolledUp();
    }
    if (!this.following) this._drawInView();
  }

  _userScrolledUp() {
    if (!this.following || this.scroller.scrollHeight <= this.scroller.clientHeight) return;
    this.following = false;
    this.newSinceFollow = 0;
    this.onChange();
  }

  /** Follow the bottom again (the "jump to bottom" bar, End, f). */
  follow() {
    if (this.detached) { this.onReachEnd?.("follow"); return; }
    this.following = true;
    this.newSinceFollow = 0;
    this._stick();
    this._schedule();
  }

  stopFollowing() {
    if (!this.following) return;
    this.following = false;
    this.newSinceFollow = 0;
    this.onChange();
  }

  setPaused(paused) {
    if (paused === this.paused) return;
    this.paused = paused;
    this.heldSincePause = 0;
    if (!paused) this._schedule();
    this.onChange();
  }

  /**
   * The look changed (pinned columns, highlight rules, timestamps): draw the
   * lines in the window again, open trees kept open.
   */
  setLook(look) {
    Object.assign(this.look, look);
    for (const line of this.list.querySelectorAll(".ln")) {
      if (!line.rec || line.classList.contains("plain")) continue; // drawn with the new look when seen
      const fresh = this._drawn(line.rec, line.source, line.raw, line.prevRecord, line.seq, line.dataset.id);
      if (line.classList.contains("target")) fresh.classList.add("target"); // a link's line stays marked
      if (line.getAttribute("aria-expanded") === "true") toggleTree(fresh, this.look.pinned);
      const more = fresh.querySelector(".more");
      if (more) setExpanded(fresh, more, line.classList.contains("expanded"));
      line.replaceWith(fresh);
    }
  }

  /** A line's element drawn in full: a plain row is drawn now, with the rest of its chunk (lazyrows.js). */
  drawnLine(el) {
    if (!el.classList.contains("plain")) return el;
    const chunk = el.parentNode;
    drawRows(chunk, this.highlight, this.look);
    return chunk.querySelector(`:scope > .ln[data-id="${CSS.escape(el.dataset.id)}"]`) ?? el;
  }

  setMax(max) {
    this.max = max;
    this._trim();
    this._schedule();
  }

  /** Empty the view; `byReader`: the reader asked (the pane then says "Cleared"). */
  clear(byReader = false) {
    this.cleared = byReader;
    this.list.replaceChildren();
    this.pending = [];
    this.pendingHead = 0;
    this.skipped = 0;
    this.domCount = 0;
    this.sepCount = 0;
    this.received = 0;
    this.heldSincePause = 0;
    this.newSinceFollow = 0;
    this.records.clear();
    this.lastOf.clear();
    this.following = true;
    if (byReader) this.onCleared?.(); // history.js: a pane detached from the live end goes back to it
    this.onChange();
  }
}

// Paging back and "show context" edit the window too (pageedits.js).
Object.assign(LogView.prototype, pageEdits);
