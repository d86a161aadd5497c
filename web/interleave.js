// interleave: a merged view's backlog in time order. Each file's backlog
// arrives whole, one file after the other; once it is all there, the lines are
// sorted by their timestamps (a JSON/logfmt time field, else the one detect.js
// finds). A line without one keeps to the line before it in its file (a stack
// trace stays under its record); the sort is stable, so equal times keep their
// order. Live lines are never reordered: they are shown as they arrive. Pure.

import { parseAnsi } from "./ansi.js";
import { detectTimestamp } from "./detect.js";
import { looksStructured, parseFields } from "./fields.js";
import { toMillis } from "./timefmt.js";

/** The time of one line (ms), or null. */
export function lineTime(raw, now) {
  const text = raw.indexOf("\x1b") >= 0 ? parseAnsi(raw).text : raw;
  if (looksStructured(text)) {
    const f = parseFields(text);
    if (f && f.time !== null) return toMillis(f.time, now);
  }
  const ts = detectTimestamp(text);
  return ts ? toMillis(text.slice(ts.start, ts.end), now) : null;
}

/**
 * Held merged lines ({path, ...}) cut to each file's last `n`, in their order:
 * {lines, dropped} (how many went). A window of `n` lines shows the newest
 * `n` of the union, and those are among each file's last `n`, so a long
 * catch-up (following on from far back, history.js) is held in bounded
 * memory (pure).
 */
export function newestOfEach(lines, n) {
  const left = new Map();
  const keep = new Array(lines.length).fill(false);
  for (let i = lines.length - 1; i >= 0; i--) {
    const k = left.get(lines[i].path) ?? n;
    if (k > 0) keep[i] = true;
    left.set(lines[i].path, k - 1);
  }
  const kept = lines.filter((_, i) => keep[i]);
  return { lines: kept, dropped: lines.length - kept.length };
}

/**
 * Merged backlog lines ({data, path, ...}) in time order (a new array).
 * `whole(path)`, if given: whether that file's backlog reached its first line.
 * Each file sends its last N lines, so a busy file reaches back a few minutes
 * and a quiet one hours: before the latest first time of the files that did
 * not reach their start, only some files' lines are in hand, and showing them
 * would put the others' older lines, paged in later (mergedhistory.js), above
 * lines they are newer than. Those lines are left out (scrolling back brings
 * them, in order); a file without any timestamp sets no bound and keeps its
 * lines.
 */
export function interleaveByTime(lines, whole = null) {
  const now = new Date();
  const last = new Map(); // path -> time of its latest line that had one
  const first = new Map(); // path -> time of its first line that had one
  const keyed = lines.map((line, i) => {
    let t = lineTime(line.data, now);
    if (t === null) t = last.has(line.path) ? last.get(line.path) : -Infinity;
    else {
      last.set(line.path, t);
      if (!first.has(line.path)) first.set(line.path, t);
    }
    return { line, t, i };
  });
  keyed.sort((a, b) => a.t - b.t || a.i - b.i);
  let bound = -Infinity;
  if (whole) for (const [path, t] of first) if (!whole(path) && t > bound) bound = t;
  return keyed.filter((k) => k.t >= bound || !first.has(k.line.path)).map((k) => k.line);
}
