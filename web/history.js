// history: the log's past in the pane, read from the server a page at a time
// (GET api/lines/<path>, see the README's HTTP API). Owns scrolling back
// (scrolling to the top loads the page before the first line shown and keeps
// the reader's place; past the window's size the far end is dropped, and the
// pane is then "detached" from the live end), paging forward again, following
// on to the live end from the last line shown, opening the view at a line, a
// range or a time (state.anchor: links, search hits, jump to time), the
// history bar that says where the view is (a line's unfiltered context: context.js).
// A merged view scrolls back and follows on the same way, its older page made
// of every file's (mergedhistory.js), and follows on at once when scrolled down.
//
// Promises kept here: the window is one contiguous stretch of the history (an
// older page is put above the first line, a newer one below the last, and the
// live stream resumes after the last id shown: ids are byte positions, so
// nothing is missed and nothing is shown twice); the DOM stays within the
// window's bound; a place that cannot be shown (its bytes are gone, a file
// without timestamps) is said in the pane and the bar, never a blank view.
// Never builds a line's DOM itself (render.js, view.js) and never opens the
// live stream (the app does, through openLive).

import { anchorSpan, fetchPage, unseen } from "./historypage.js";
import { MergedHistory } from "./mergedhistory.js";
import { separatorElement } from "./render.js";
import { setAnchor, state } from "./state.js";

export const PAGE = 200; // lines per page, the server's default (fewer if its --max-backlog is lower)
const RANGE_PAGES = 25; // a linked range is read at most this many pages past its start
const TOP_PX = 48; // this close to the top loads the page before

const $ = (id) => document.getElementById(id);

function describeAnchor(anchor) {
  if (!anchor) return "Scrolled back through the history: newer lines were let go";
  if (anchor.at) return "A linked line and its surroundings";
  if (anchor.from) return "A linked range of lines";
  return `From ${anchor.since}`;
}

export class History {
  /**
   * view: the LogView; path(): the one file shown (null for a merged view or
   * none); merged(): a merged view's {paths, lastId (the live stream's last
   * id), sources (path -> the view's source)}, or null (mergedhistory.js
   * pages each file back and merges); openLive(lastId): follow the live stream from
   * after that id; closeLive(): stop it; restart(): show the live end
   * afresh (the bar's button, after the anchor was dropped); maxPage(): the
   * most lines the server serves at once (--max-backlog), or null. The pane's
   * message (empty.js reads `error`) is told through the view's onChange.
   */
  constructor({ view, path, merged, openLive, closeLive, restart, maxPage }) {
    this.view = view;
    // Half a window at most: the lines the reader looks at stay when the far end gives way.
    this.page = () => Math.max(1, Math.min(PAGE, maxPage() ?? PAGE, Math.floor(view.max / 2)));
    this.path = path;
    this.merged = merged;
    this.mergedPages = new MergedHistory({ view, fetchPage });
    this.openLive = openLive;
    this.closeLive = closeLive;
    this.generation = 0; // a restart makes every fetch under way stale
    this.loading = false;
    this.olderBlocked = false; // loading older lines failed: not again until the next restart
    this.error = null; // {title, reason}: the place asked for cannot be shown
    this.list = view.list;
    const scroller = view.scroller;
    this.lastTop = 0;
    view.onReachEnd = (how) => {
      if (how === "follow") this.followOn();
      // Only the reader going down asks: the far end given way also puts the pane at its bottom, going up.
      else if (scroller.scrollTop > this.lastTop) this.loadNewer();
    };
    // Only the reader's scrolling asks (following, the view sits at the bottom; a short window is at the top).
    scroller.addEventListener("scroll", () => {
      if (scroller.scrollTop <= TOP_PX && !view.following) this.loadOlder();
      this.lastTop = scroller.scrollTop;
    }, { passive: true });
    // A window shorter than the pane cannot scroll: a wheel up at the top asks too.
    scroller.addEventListener("wheel", (e) => { if (e.deltaY < 0 && scroller.scrollTop <= TOP_PX) this.loadOlder(); }, { passive: true });
    view.onCleared = () => this.clearedByReader();
    $("history-follow").addEventListener("click", () => this.followOn());
    $("history-live").addEventListener("click", () => { setAnchor(null); restart(); });
  }

  /** The view restarts (new files, filter, anchor): forget the window's place. */
  reset() {
    this.generation++;
    this.loading = false;
    this.olderBlocked = false;
    this.error = null;
    this.lastQueued = "";
    this.mergedPages.reset();
    this.view.detached = false;
    this._bar();
  }

  /** The id of the first or last line in the window, or "". */
  edgeId(last = false) {
    return [...this._edgeIds(1, last)][0] || "";
  }

  /** The last line of the window; lines of the last page may still wait for their frame: then the last one queued. */
  _lastId() {
    return (this.view.pendingCount && this.lastQueued) || this.edgeId(true);
  }

  /**
   * The ids of the `n` lines at the top (or bottom) of the window: a page can
   * only overlap the window at the edge it is put against (one walk, not a
   * search of the window per line).
   */
  _edgeIds(n, last = false) {
    const ids = new Set();
    const step = last ? "previousElementSibling" : "nextElementSibling";
    for (let chunk = last ? this.list.lastElementChild : this.list.firstElementChild; chunk && ids.size < n; chunk = chunk[step]) {
      for (let el = last ? chunk.lastElementChild : chunk.firstElementChild; el && ids.size < n; el = el[step]) {
        if (el.dataset.id) ids.add(el.dataset.id);
      }
    }
    return ids;
  }

  _detach() {
    if (this.view.detached) return;
    this.closeLive();
    this.view.detached = true;
    this.view.stopFollowing();
    this._bar();
  }

  /** Scrolled to the top: put the page before the first line above it, the reader's place kept. */
  async loadOlder() {
    const path = this.path(), merged = this.merged();
    if ((!path && !merged) || this.loading || this.olderBlocked || this.error || this.list.querySelector(".sep-start")) return;
    const first = this.edgeId();
    if (!first) return;
    const gen = this.generation;
    this.loading = true;
    let page;
    try {
      page = merged ? await this.mergedPages.older(merged.paths, this.page(), merged.lastId, merged.sources)
        : await fetchPage(path, { before: first, limit: this.page() });
    } catch (err) {
      if (gen !== this.generation) return;
      this.olderBlocked = true;
      this._prepend([{ kind: "sep", sepKind: "error", message: `Older lines cannot be loaded: ${err.reason}` }]);
      return;
    } finally {
      if (gen === this.generation) this.loading = false;
    }
    if (gen !== this.generation || this.edgeId() !== first) return; // the window changed meanwhile
    let items;
    if (merged) {
      items = page.items;
      for (const { id, message } of page.starts) {
        const line = this.list.querySelector(`.ln[data-id="${CSS.escape(id)}"]`);
        if (line) this.view.insertBeside(line, separatorElement("filestart", message), null);
      }
      if (this.mergedPages.finished) {
        items.unshift({ kind: "sep", sepKind: "start", message: `The start of the history of these ${merged.paths.length} files` });
      }
    } else {
      const top = this._edgeIds(page.lines.length);
      items = unseen(page.lines, (id) => top.has(id));
      if (!page.more_before) {
        items.unshift({ kind: "sep", sepKind: "start", message: `The start of ${path}'s history (its oldest rotation still on disk)` });
      }
    }
    this._prepend(items);
    if (merged) this.mergedPages.placed();
    const excess = this.view.domCount - this.view.max;
    if (excess > 0) {
      this._detach();
      this.view.dropNewest(excess);
    }
  }

  /** Put entries above the window, the line the reader sees kept where it is on screen. */
  _prepend(items) {
    const ref = this.list.querySelector(".ln[data-id]");
    const before = ref.getBoundingClientRect().top;
    this.view.prependEntries(items);
    this.view.scroller.scrollTop += ref.getBoundingClientRect().top - before;
  }

  /** Detached and at the bottom: the page after the last line, below it; at the end, follow the live stream on. */
  async loadNewer() {
    const path = this.path();
    if (this.merged()) { this.followOn(); return; } // a merged view follows on: the stream's catch-up is interleaved
    if (!path || this.loading || this.error) return;
    const last = this._lastId();
    if (!last) return;
    const gen = this.generation;
    this.loading = true;
    let page;
    try {
      page = await fetchPage(path, { after: last, limit: this.page() });
    } catch (err) {
      if (gen === this.generation) this.view.addSeparator("error", `Newer lines cannot be loaded: ${err.reason}`);
      return;
    } finally {
      if (gen === this.generation) this.loading = false;
    }
    if (gen !== this.generation || this._lastId() !== last) return;
    const bottom = this._edgeIds(page.lines.length, true);
    const items = unseen(page.lines, (id) => bottom.has(id));
    if (items.length) {
      this.lastQueued = items[items.length - 1].id;
      this.view.addLines(items);
    }
    if (!page.more_after) this._attach(items.length ? items[items.length - 1].id : last);
  }

  /** Follow on to the live end from the last line shown: the jump bar, f, the bar's button. */
  followOn() {
    if (this.error) return;
    if (state.anchor) setAnchor(null); // following the live end: the link's place is left behind
    if (this.view.detached) {
      this.generation++; // a page under way would come after the stream's lines
      this.loading = false;
      const merged = this.merged();
      if (merged) { this._followMerged(merged.paths); return; }
      this._attach(this._lastId());
    }
    this.view.follow();
    this._bar();
  }

  /** A merged view follows on from every file's last line shown (mergedhistory.js), once the server named them. */
  async _followMerged(paths) {
    const gen = this.generation;
    this.loading = true; // nothing is paged in meanwhile
    let id;
    try {
      id = await this.mergedPages.resumeId(paths);
    } catch (err) {
      if (gen === this.generation) this.view.addSeparator("error", `Cannot follow on: ${err.reason}`);
      return;
    } finally {
      if (gen === this.generation) this.loading = false;
    }
    if (gen !== this.generation) return;
    this._attach(id);
    this.view.follow();
  }

  /**
   * The reader cleared the pane: it shows what is written from now on. Away
   * from the live end, that is after the file's last line now.
   */
  async clearedByReader() {
    if (!this.view.detached && !state.anchor && !this.error) return;
    const paths = this.merged()?.paths ?? [this.path()];
    this.reset();
    if (state.anchor) setAnchor(null);
    const gen = this.generation;
    this.view.detached = true; // until the stream is open: nothing is paged in meanwhile
    let last;
    try {
      // Each file's last line (a merged stream's id joins them); an empty file: where its history ends.
      last = (await Promise.all(paths.map(async (p) => {
        const page = await fetchPage(p, { limit: 1 });
        return page.lines.length ? page.lines[page.lines.length - 1].id : (paths.length > 1 ? page.end : "");
      }))).join(",");
    } catch (err) {
      if (gen === this.generation) this.view.addSeparator("error", `Cannot follow ${paths.join(", ")}: ${err.reason}`);
      return;
    }
    if (gen !== this.generation) return;
    this.view.detached = false;
    this.openLive(last); // only what comes after the files' last lines ("": it has none, nothing to skip)
    this._bar();
  }

  _attach(lastId) {
    this.view.detached = false;
    this.openLive(lastId);
    this._bar();
  }

  /**
   * Open the view at `anchor` (state.anchor): the page around a line, a range
   * (read on until its end, at most RANGE_PAGES pages), or the page from a
   * time; the line(s) highlighted and brought into view. At the live end
   * already: follow it on (without scrolling away).
   */
  async open(anchor) {
    const path = this.path();
    this.reset();
    const gen = this.generation;
    this.view.detached = true;
    this.view.stopFollowing();
    this._bar(anchor);
    let page;
    const items = [];
    try {
      // A time opens the view as filtered; a linked line shows its surroundings as they are (links carry no filter).
      const filtered = Boolean(anchor.since);
      page = await fetchPage(path, anchor.since ? { since: anchor.since, limit: this.page() } : { around: anchor.at || anchor.from, limit: this.page() }, filtered);
      items.push(...unseen(page.lines, () => false));
      for (let n = 0; anchor.to && page.more_after && !items.some((l) => l.id === anchor.to) && n < RANGE_PAGES; n++) {
        page = { ...(await fetchPage(path, { after: items[items.length - 1].id, limit: this.page() }, false)), more_before: page.more_before };
        items.push(...unseen(page.lines, () => false));
        if (gen !== this.generation) return;
      }
    } catch (err) {
      if (gen !== this.generation) return;
      this.error = {
        // 404/400: the id names bytes that are gone (or never were); anything else may pass.
        title: anchor.since ? `${path} cannot be opened at ${anchor.since}`
          : [400, 404].includes(err.status) ? "This line is not available any more" : "This line cannot be shown right now",
        reason: err.reason,
      };
      this.view.detached = false;
      this.view.following = true; // nothing to jump to: no "jump to bottom" over the message
      this._bar(anchor);
      this.view.onChange();
      return;
    }
    if (gen !== this.generation) return;
    if (!page.more_before && !anchor.since) items.unshift({ kind: "sep", sepKind: "start", message: `The start of ${path}'s history` });
    this.view.prependEntries(items);
    const span = new Set(anchorSpan(items.filter((i) => i.id).map((i) => i.id), anchor));
    let first = null;
    for (const el of this.list.querySelectorAll(".ln[data-id]")) {
      if (!span.has(el.dataset.id)) continue;
      el.classList.add("target");
      first ??= el;
    }
    if (anchor.to && !span.size) {
      this.view.addSeparator("error", `The end of this range is more than ${(RANGE_PAGES * this.page()).toLocaleString()} lines past its start: showing its start`);
    }
    first?.scrollIntoView({ block: anchor.since ? "start" : "center" });
    if (!page.more_after) this._attach(this.edgeId(true));
    this.view.onChange();
  }

  /** The bar over the pane: where in the history the view is, and the way back. */
  _bar(anchor = state.anchor) {
    const bar = $("history-bar");
    const away = Boolean(this.error) || this.view.detached || Boolean(anchor);
    bar.hidden = !away;
    if (!away) return;
    bar.classList.toggle("failed", Boolean(this.error));
    $("history-text").textContent = this.error ? `${this.error.title}: ${this.error.reason}` : describeAnchor(anchor);
    $("history-follow").hidden = Boolean(this.error);
    $("history-live").hidden = !this.error && !anchor;
  }
}
