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

/** Merged backlog lines ({data, path, ...}) in time order (a new array). */
export function interleaveByTime(lines) {
  const now = new Date();
  const last = new Map(); // path -> time of its latest line that had one
  const keyed = lines.map((line, i) => {
    let t = lineTime(line.data, now);
    if (t === null) t = last.has(line.path) ? last.get(line.path) : -Infinity;
    else last.set(line.path, t);
    return { line, t, i };
  });
  keyed.sort((a, b) => a.t - b.t || a.i - b.i);
  return keyed.map((k) => k.line);
}
