// lazyrows: lines drawn plain while they scroll past unseen, drawn in full
// when they come into view. At 5,000 lines/s a frame brings more lines than
// the pane can show, and most of them are scrolled past before anyone could
// see them; a plain row is its level class and its text (two elements, no
// timestamp, level word, ANSI, highlight or structured markup), which costs
// the browser a fraction of the style, layout and paint of a full one
// (bench/viewer_rate.py, docs/benchmarks.md). The text is the same either
// way: `.tx` holds the line as written, so what is selected, copied or read
// by the tests does not depend on how a row was drawn.

import { lineElement } from "./render.js";

/**
 * How many rows a pane `height` px high can show at most, with the lines'
 * font `fontPx` px (a row, `.ln`, is at least 1.5em high): an upper bound.
 */
export function rowsThatFit(height, fontPx) {
  return Math.ceil(height / (1.5 * Math.max(1, fontPx))) + 2;
}

/**
 * Whether a line may be drawn plain: not an entry of several lines (a plain
 * row would show all of them where the full one shows the first).
 */
export function mayBePlain(rec) {
  return !rec.text.includes("\n");
}

/** The plain row of a line record (render.js prepareLine): `.ln.plain.lv-*` > `.tx` > text. */
export function plainLineElement(rec, source) {
  const div = document.createElement("div");
  div.className = `ln plain lv-${rec.level || "none"}`;
  div.rec = rec;
  div.source = source;
  const tx = document.createElement("span");
  tx.className = "tx";
  tx.textContent = rec.text;
  if (source) tx.title = source.title; // which file, in a merged view (the label comes with the full row)
  div.appendChild(tx);
  return div;
}

/** Draw in full the plain rows of one element. Returns how many were drawn. */
export function drawRows(block, highlight, look) {
  const plain = block.getElementsByClassName("plain");
  let drawn = 0;
  for (const row of [...plain]) {
    const full = lineElement(row.rec, row.source, highlight, look);
    full.seq = row.seq; // what view.js needs to draw the entry again (a continuation)
    full.raw = row.raw;
    full.prevRecord = row.prevRecord;
    if (row.dataset.id) full.dataset.id = row.dataset.id; // its place in the history (history.js)
    if (row.classList.contains("target")) full.classList.add("target"); // a link's line stays marked
    row.replaceWith(full);
    drawn++;
  }
  return drawn;
}

/**
 * Draw in full every plain row of the blocks of `list` (its children) that
 * overlap the visible part of `scroller` or the screenful above or below it.
 * `highlight`, `look`: as for render.js lineElement. Returns how many rows
 * were drawn.
 */
export function drawRowsInView(scroller, list, highlight, look) {
  const view = scroller.getBoundingClientRect();
  const top = view.top - view.height, bottom = view.bottom + view.height;
  let drawn = 0;
  for (const block of list.children) {
    if (!block.getElementsByClassName("plain").length) continue;
    const r = block.getBoundingClientRect();
    if (r.bottom >= top && r.top <= bottom) drawn += drawRows(block, highlight, look);
  }
  return drawn;
}
