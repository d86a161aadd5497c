// render: one log line -> DOM nodes, with its file's label; separators and what they say.
//
// Log content is text, never markup: every piece of a line reaches the page
// through createTextNode; class names come from a fixed list and colours from
// integers (see ansi.js). Never use innerHTML (or insertAdjacentHTML, or
// attribute strings) with anything that came from a log file.

import { parseAnsi } from "./ansi.js";
import { detectLevel, detectTimestamp, lineLevel } from "./detect.js";
import { looksStructured, parseFields, viewLevel } from "./fields.js";
import { setExpanded, structuredElement } from "./structured.js";
import { formatTime, toMillis } from "./timefmt.js";

export const LEVELS = ["error", "warn", "info", "debug"];

// A file's colour in a merged view: its chip and its lines' labels (.c0 … .c7).
export const SOURCE_COLOURS = 8;

function basename(path) { return path.slice(path.lastIndexOf("/") + 1); }

/** The label of a line's file: {index, label, title, colour, path}. */
export function sourceFor(path, index, paths = [path]) {
  // The file name alone, unless two open files share it (a/app.log, b/app.log).
  const name = basename(path);
  const clash = paths.filter((p) => basename(p) === name).length > 1;
  return { index, label: clash ? path : name, title: path, colour: index % SOURCE_COLOURS, path };
}

/**
 * The highlighter for the current filter: a function text -> [{start, end}], or
 * null. The server filters with RE2; JavaScript's RegExp agrees on the common
 * syntax, and where it does not we just do not highlight.
 */
export function makeHighlighter(filter) {
  if (!filter || !filter.text || filter.invert) return null;
  let re;
  try {
    const source = filter.regex ? filter.text.replace(/^\(\?i\)/, "") : escapeRegExp(filter.text);
    re = new RegExp(source, filter.caseSensitive ? "g" : "gi");
  } catch {
    return null;
  }
  return (text) => {
    const out = [];
    re.lastIndex = 0;
    let m;
    while ((m = re.exec(text)) !== null && out.length < 100) {
      if (m[0].length === 0) { re.lastIndex++; continue; }
      out.push({ start: m.index, end: m.index + m[0].length });
    }
    return out;
  };
}

export function escapeRegExp(text) {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

function styleSpan(style) {
  const span = document.createElement("span");
  const cls = [];
  let fg = style.fg, bg = style.bg;
  if (style.inverse) {
    [fg, bg] = [bg ?? { cls: "bg" }, fg ?? { cls: "fg" }]; // default colours swap too
  }
  if (style.bold) cls.push("a-b");
  if (style.dim) cls.push("a-d");
  if (style.italic) cls.push("a-i");
  if (style.underline) cls.push("a-u");
  if (style.strike) cls.push("a-s");
  if (fg) {
    if (fg.rgb) span.style.color = `rgb(${fg.rgb[0]}, ${fg.rgb[1]}, ${fg.rgb[2]})`;
    else cls.push(`f${fg.cls}`);
  }
  if (bg) {
    if (bg.rgb) span.style.backgroundColor = `rgb(${bg.rgb[0]}, ${bg.rgb[1]}, ${bg.rgb[2]})`;
    else cls.push(`g${bg.cls}`);
  }
  if (cls.length) span.className = cls.join(" ");
  return span;
}

/**
 * Split [0, text.length) at every run and decoration boundary and emit the
 * pieces: each piece is a text node wrapped in the ANSI span (if styled) and
 * the decoration element (timestamp, level word, match mark) if covered.
 */
function appendStyled(parent, text, runs, decorations) {
  if (!runs.length && !decorations.length) {
    parent.appendChild(document.createTextNode(text));
    return;
  }
  const cuts = new Set([0, text.length]);
  for (const r of runs) { cuts.add(r.start); cuts.add(r.end); }
  for (const d of decorations) { cuts.add(d.start); cuts.add(d.end); }
  const points = [...cuts].filter((x) => x >= 0 && x <= text.length).sort((a, b) => a - b);
  let ri = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i], b = points[i + 1];
    if (a === b) continue;
    while (ri < runs.length && runs[ri].end <= a) ri++;
    const run = ri < runs.length && runs[ri].start <= a ? runs[ri] : null;
    let node = document.createTextNode(text.slice(a, b));
    if (run) {
      const span = styleSpan(run.style);
      span.appendChild(node);
      node = span;
    }
    // Innermost first: mark > level > timestamp.
    for (const d of decorations) {
      if (d.start <= a && d.end >= b) {
        const el = document.createElement(d.tag);
        if (d.cls) el.className = d.cls;
        el.appendChild(node);
        node = el;
      }
    }
    parent.appendChild(node);
  }
}

/**
 * A line record ready to render: the parsed text, its level (its own, or the
 * one of the record it continues, such as a stack trace: see lineLevel), and
 * `record`, what the next line of the same file may inherit.
 */
export function prepareLine(raw, record) {
  const { text, runs } = parseAnsi(raw);
  // JSON or logfmt: parsed once, here, and only if it may be one (fields.js).
  const fields = looksStructured(text) ? parseFields(text) : null;
  if (fields) {
    // The parsed level where there is one; else what the text says.
    const found = fields.level ? { level: viewLevel(fields.level), start: 0, end: 0 } : detectLevel(text);
    const own = lineLevel(text, found, fields.time !== null ? { start: 0, end: 0 } : detectTimestamp(text), record);
    return { text, runs, level: own.level, levelSpan: null, ts: null, record: own.record, fields };
  }
  const found = detectLevel(text);
  const ts = detectTimestamp(text);
  const own = lineLevel(text, found, ts, record);
  return { text, runs, level: own.level, levelSpan: found, ts, record: own.record, fields: null };
}

function sourceLabel(source) {
  const src = document.createElement("span");
  src.className = `src c${source.colour}`;
  src.textContent = source.label;
  src.title = source.title;
  return src;
}

/**
 * Build the element of one line. `source` is {label, colour, title} or null;
 * `look`: {pinned, rules, timeMode} (see structured.js, rules.js, timefmt.js).
 */
export function lineElement(rec, source, highlight, look = {}) {
  const div = document.createElement("div");
  // A line without a level goes with INFO: "ERROR only" hides it too.
  div.className = rec.level ? `ln lv-${rec.level}` : "ln lv-none";
  div.rec = rec; // to draw it again when the look changes (view.js setLook)
  div.source = source;
  if (rec.fields) return structuredLine(div, rec, source, highlight, look);
  if (source) div.appendChild(sourceLabel(source));
  const body = document.createElement("span");
  body.className = "tx";
  const decorations = [];
  if (highlight) for (const m of highlight(rec.text)) decorations.push({ ...m, tag: "mark" });
  if (look.rules) for (const m of look.rules(rec.text)) decorations.push({ ...m, tag: "span" });
  if (rec.levelSpan) decorations.push({ start: rec.levelSpan.start, end: rec.levelSpan.end, tag: "span", cls: "lvw" });
  if (rec.ts) decorations.push({ start: rec.ts.start, end: rec.ts.end, tag: "span", cls: "ts" });
  const cut = rec.text.indexOf("\n");
  let more = null;
  if (cut < 0) appendStyled(body, rec.text, rec.runs, decorations);
  else more = appendEntry(div, body, rec, decorations, cut, highlight);
  if (rec.ts && look.timeMode && look.timeMode !== "written") showTime(body, rec.text.slice(rec.ts.start, rec.ts.end), look.timeMode);
  div.appendChild(body);
  if (more) div.appendChild(more); // after the text: the line's text (.tx) stays the log's own
  return div;
}

/**
 * An entry of several lines (a stack trace grouped by the server, group=1):
 * its first line, the rest in .rest (shown when the line is expanded), and a
 * "+N lines" toggle, returned (it goes after the text). Expanded at once if
 * the filter matched in the rest.
 */
function appendEntry(div, body, rec, decorations, cut, highlight) {
  const part = (a, b) => ({
    runs: rec.runs.filter((r) => r.end > a && r.start < b)
      .map((r) => ({ ...r, start: Math.max(r.start, a) - a, end: Math.min(r.end, b) - a })),
    decorations: decorations.filter((d) => d.end > a && d.start < b)
      .map((d) => ({ ...d, start: Math.max(d.start, a) - a, end: Math.min(d.end, b) - a })),
  });
  const head = part(0, cut);
  appendStyled(body, rec.text.slice(0, cut), head.runs, head.decorations);
  const rest = document.createElement("span");
  rest.className = "rest";
  const tail = part(cut, rec.text.length);
  appendStyled(rest, rec.text.slice(cut), tail.runs, tail.decorations);
  body.appendChild(rest);
  const more = document.createElement("button");
  more.type = "button";
  more.className = "more";
  more.dataset.lines = String(rec.text.slice(cut + 1).split("\n").length);
  div.dataset.entry = "1";
  const matchedInside = Boolean(highlight) && decorations.some((d) => d.tag === "mark" && d.end > cut);
  setExpanded(div, more, matchedInside);
  return more;
}

/** The timestamp of a text line in local time, UTC or relative: written in its first .ts piece (the original in its title). */
function showTime(body, written, mode) {
  const ms = toMillis(written.replace(/^\[|\]$/g, ""));
  const pieces = body.getElementsByClassName("ts");
  if (ms === null || !pieces.length) return;
  const first = pieces[0];
  first.textContent = formatTime(ms, mode);
  first.title = written;
  first.dataset.t = String(ms);
  while (pieces.length > 1) pieces[1].remove();
}

/**
 * A JSON or logfmt line: the structured view (.sv), and the line as written in
 * .tx, hidden (what the line's textContent and the tests read; a
 * selection copies the structured view). A click expands it.
 */
function structuredLine(div, rec, source, highlight, look) {
  div.dataset.fields = rec.fields.kind; // json or logfmt (the class names stay ln lv-*)
  div.fields = rec.fields; // for the tree, built on the first click
  if (source) div.appendChild(sourceLabel(source));
  div.appendChild(structuredElement(rec.fields, { ...look, highlight }));
  const raw = document.createElement("span");
  raw.className = "tx";
  raw.appendChild(document.createTextNode(rec.text));
  div.appendChild(raw);
  return div;
}

/** What the separator of a control event (rotate, truncate, ...) says. */
export function controlMessage(type, info) {
  const name = info.path || "the file";
  switch (type) {
    case "rotate": {
      const skipped = Array.isArray(info.skipped) && info.skipped.length
        ? ` (not replayed: ${info.skipped.join(", ")})` : "";
      return info.reason === "recreated"
        ? `${name} was created again — following the new file from its start`
        : `${name} was rotated — following the new file from its start${skipped}`;
    }
    case "late":
      return `${Number(info.lost_bytes || 0).toLocaleString()} bytes were written to the rotated ${name} too late to be shown`;
    case "backlog":
      return `${name}: ${info.reason || "the backlog stopped looking back"}`;
    case "truncate":
      return info.lost_bytes
        ? `${name} was truncated — ${Number(info.lost_bytes).toLocaleString()} bytes written before it were lost`
        : `${name} was truncated — following from its new start`;
    case "reset":
      return `could not resume ${name} exactly (${info.reason || "unknown reason"}) — showing its latest lines`;
    case "deleted":
      return `${name} was deleted — waiting for it to come back`;
    case "error":
      return `${name} cannot be read right now (${info.reason || "unknown reason"}) — will go on when it can`;
    default:
      return type;
  }
}

/** A separator for rotate / truncate / reset / deleted and other notices. */
export function separatorElement(kind, message) {
  const div = document.createElement("div");
  div.className = `sep sep-${kind}`;
  div.setAttribute("role", "separator");
  const label = document.createElement("span");
  label.textContent = message;
  div.appendChild(label);
  return div;
}
