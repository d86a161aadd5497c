// mergedhistory: the past of a merged view (several files followed at once,
// their lines interleaved by time). Owns, per file, where its history goes on
// (`before=` its oldest line shown: ids are per file, so each file pages back
// on its own), the lines fetched but not shown yet (kept for the next scroll),
// whether its start was reached (`more_before: false`), the merge of the
// files' pages into one older page in time order, and the id the merged live
// stream resumes from (every file's position after its last line shown).
// history.js decides when (the reader at the top, following on) and edits the
// window; this module only reads the window's lines (their ids and files).
//
// Time order is the interleave's (interleave.js lineTime: a JSON/logfmt time
// field, else detect.js's timestamp): a line without a time keeps to the
// stamped line before it in its file, and a page starting inside such a run
// (a stack trace whose head is older) holds the run back until its head is
// fetched, so it is shown under its head. A file without any timestamp sorts
// before every stamped line, as in the merged backlog: its older lines come
// once the stamped files reach their start, the files in their order (the
// last file's page is put lowest). Equal times keep the files' order.

import { lineTime } from "./interleave.js";

/**
 * Merge the files' fetched, unshown lines into one older page of at most `n`
 * lines, the newest of their union (a k-way merge from the newest end, so
 * each file keeps its own order). `files[i]`: {lines: [{id, text}] oldest
 * first, done: its history's start is fetched, next: the time (ms) of its
 * oldest line shown, or null}. The merge stops early where a file that is not
 * done has nothing left (its older lines may be newer than the others') or
 * reaches a run held for its head. Returns {take: [{file, id, text}] oldest
 * first, kept: for each file how many of its first lines stay unshown} (pure).
 */
export function mergeOlder(files, n, now = new Date()) {
  const keyed = files.map((f) => keys(f, now));
  const ptr = files.map((f) => f.lines.length);
  const take = [];
  while (take.length < n) {
    let best = -1;
    for (let i = 0; i < files.length; i++) {
      const j = ptr[i] - 1;
      if (j < 0) {
        if (files[i].done) continue;
        best = -2; // this file's unfetched lines might come next
        break;
      }
      if (best < 0 || keyed[i].t[j] >= keyed[best].t[ptr[best] - 1]) best = i; // equal: the later file is lower
    }
    if (best < 0 || ptr[best] - 1 < keyed[best].held) break; // the newest left waits for its head
    const line = files[best].lines[--ptr[best]];
    take.push({ file: best, id: line.id, text: line.text });
  }
  return { take: take.reverse(), kept: ptr };
}

/** One file's sort keys (ms, -Infinity for no time) and how many of its first lines are held for their head. */
function keys(file, now) {
  const own = file.lines.map((l) => lineTime(String(l.text), now));
  const first = own.findIndex((t) => t !== null);
  const lead = first < 0 ? own.length : first; // lines before the first stamped one: their head is older
  const after = first < 0 ? file.next : own[first];
  const t = [];
  let last = after ?? -Infinity;
  for (let i = 0; i < own.length; i++) {
    if (own[i] !== null) last = own[i];
    t.push(last);
  }
  return { t, held: !file.done && after !== null && after !== undefined ? lead : 0 };
}

export class MergedHistory {
  /**
   * view: the LogView (its window and what waits to be shown); fetchPage:
   * history.js's (path, params) -> page, raising HistoryError.
   */
  constructor({ view, fetchPage }) {
    this.view = view;
    this.fetchPage = fetchPage;
    this.reset();
  }

  /** Forget every file's place (the view restarted). */
  reset() {
    this.files = null; // path -> {rem, done, cursor, oldest, live, announced}
    this.top = null; // the window's first entry when the places were taken
  }

  /** Every file's start is shown: nothing older to load. */
  get finished() {
    return Boolean(this.files) && [...this.files.values()].every((f) => f.done && !f.rem.length);
  }

  /** The window's lines of `path`, oldest first (elements with an id). */
  _lines(path) {
    return [...this.view.list.querySelectorAll(".ln[data-id]")].filter((el) => el.source?.path === path);
  }

  /**
   * Each file's place, taken from the window unless it is still the one the
   * last page left (its first entry unchanged): the oldest line shown of the
   * file, else its oldest line waiting to be shown, else the live stream's
   * position in it (`streamId`, the merged stream's last id: every line of the
   * file before it was delivered, so none is shown twice).
   */
  _places(paths, streamId) {
    const first = this.view.list.firstElementChild?.firstElementChild ?? null;
    if (this.files && this.top === first && this.files.size === paths.length && paths.every((p) => this.files.has(p))) return;
    const parts = streamId ? streamId.split(",") : [];
    const oldest = new Map();
    for (const el of this.view.list.querySelectorAll(".ln[data-id]")) {
      const p = el.source?.path;
      if (p && !oldest.has(p)) oldest.set(p, el.dataset.id);
    }
    for (let i = this.view.pendingHead; i < this.view.pending.length; i++) {
      const item = this.view.pending[i];
      const p = item?.source?.path;
      if (item?.id && p && !oldest.has(p)) oldest.set(p, item.id);
    }
    this.files = new Map(paths.map((p, i) => {
      const live = parts.length === paths.length ? parts[i] : "";
      const at = oldest.get(p) || "";
      return [p, { rem: [], done: !at && !live, cursor: at || live, oldest: at, live, announced: false }];
    }));
    this.top = first;
  }

  /**
   * The next older page of the merged view: fetch, for every file that has
   * fewer than `n` lines in hand, the page before its place (in parallel), and
   * merge. Returns {items: view items oldest first ({data, id, source} and
   * separators), starts: [{id, message}]: a file whose start is reached and
   * whose first line is in the window already (the separator goes above it)}.
   * `sources`: path -> the view's source. Raises HistoryError.
   */
  async older(paths, n, streamId, sources) {
    this._places(paths, streamId);
    const files = paths.map((p) => this.files.get(p));
    const inHand = () => {
      const next = new Map(); // path -> the time of its oldest line in the window
      for (const el of this.view.list.querySelectorAll(".ln[data-id]")) {
        const p = el.source?.path;
        if (p && !next.has(p)) next.set(p, lineTime(el.raw ?? el.rec?.text ?? ""));
      }
      return files.map((f, i) => ({ lines: f.rem, done: f.done, next: next.get(paths[i]) ?? null }));
    };
    let merged = { take: [] };
    for (let round = 0; round < 4 && !merged.take.length; round++) {
      // A file with fewer than n lines it could show gets its page before: the merge can then take n.
      const shown = inHand();
      const want = files.filter((f, i) => !f.done && f.rem.length - keys(shown[i]).held < n);
      if (round && !want.length) break;
      await Promise.all(want.map(async (f) => {
        const page = await this.fetchPage(paths[files.indexOf(f)], { before: f.cursor, limit: n });
        f.rem = [...page.lines.filter((l) => typeof l.id === "string"), ...f.rem];
        f.cursor = page.start || page.lines[0]?.id || f.cursor;
        f.done = !page.more_before;
      }));
      merged = mergeOlder(inHand(), n);
    }
    const firstTaken = new Map(); // file -> index in take of its first (oldest) line
    merged.take.forEach((line, k) => { if (!firstTaken.has(line.file)) firstTaken.set(line.file, k); });
    const starts = [];
    const startAbove = new Set(); // take indexes a file's start separator goes above
    files.forEach((f, i) => {
      f.rem = f.rem.slice(0, merged.kept?.[i] ?? f.rem.length);
      if (firstTaken.has(i)) f.oldest = merged.take[firstTaken.get(i)].id;
      if (!f.done || f.rem.length || f.announced) return;
      f.announced = true;
      if (firstTaken.has(i)) startAbove.add(firstTaken.get(i));
      else if (f.oldest) starts.push({ id: f.oldest, message: `The start of ${paths[i]}'s history` });
    });
    const items = [];
    merged.take.forEach((line, k) => {
      if (startAbove.has(k)) items.push({ kind: "sep", sepKind: "filestart", message: `The start of ${paths[line.file]}'s history` });
      items.push({ data: String(line.text), id: line.id, source: sources.get(paths[line.file]) });
    });
    return { items, starts };
  }

  /** The page was put above the window: its first entry is where the files' places hold. */
  placed() {
    this.top = this.view.list.firstElementChild?.firstElementChild ?? null;
  }

  /**
   * The merged stream's id to follow on from (comma-joined in `paths`' order):
   * for each file, its newest line in the window; if the far end dropped them
   * all, the line before its oldest one shown (asked of the server: the lines
   * from there on come again); if none was ever shown, the live position the
   * places were taken at. Raises HistoryError.
   */
  async resumeId(paths) {
    const newest = new Map();
    for (const el of [...this.view.list.querySelectorAll(".ln[data-id]")].reverse()) {
      const p = el.source?.path;
      if (p && !newest.has(p)) newest.set(p, el.dataset.id);
      if (newest.size === paths.length) break;
    }
    const parts = await Promise.all(paths.map(async (p) => {
      if (newest.has(p)) return newest.get(p);
      const f = this.files?.get(p);
      if (!f) return "";
      if (!f.oldest) return f.live;
      if (f.rem.length) return f.rem[f.rem.length - 1].id;
      const page = await this.fetchPage(p, { before: f.oldest, limit: 1 });
      return page.lines.length ? page.lines[page.lines.length - 1].id : page.start;
    }));
    return parts.join(",");
  }
}
