// context: "show context" on a line of a filtered view. Owns asking the server
// for the unfiltered lines around it (GET api/lines/<path>?around=ID without
// the filter: 5 each side) and showing them in place, dimmed, above and below
// the line, and hiding or showing them again. The blocks count as separators
// in the view (view.insertBeside), so the counts stay the filtered log's own.
// Never changes the filtered lines themselves.

import { fetchPage } from "./historypage.js";
import { lineElement, prepareLine } from "./render.js";

export const CONTEXT = 5; // unfiltered lines each side

/**
 * The unfiltered lines of a page around the line whose id is `id`: {before,
 * after}, each in file order; a page without the line gives its lines as
 * `after` (pure).
 */
export function splitAround(lines, id) {
  const at = lines.findIndex((l) => l.id === id);
  return at < 0 ? { before: [], after: lines } : { before: lines.slice(0, at), after: lines.slice(at + 1) };
}

/** A block of context lines (class `cl`, not `ln`: not the filtered log's lines), or of a note. */
function block(id, lines, look, note = "") {
  const el = document.createElement("div");
  el.className = "sep ctx";
  el.dataset.of = id;
  let record;
  for (const l of lines) {
    const rec = prepareLine(String(l.text), record);
    record = rec.record;
    const line = lineElement(rec, null, null, look);
    line.className = line.className.replace(/^ln /, "cl ");
    line.dataset.id = l.id;
    el.appendChild(line);
  }
  if (note) el.textContent = note;
  return el;
}

/**
 * Show the unfiltered lines around `line` (an element of `view`'s window, a
 * line of `path`) in place; on a line that shows them already, hide or show
 * them again.
 */
export async function toggleContext(view, path, line) {
  const prev = line.previousElementSibling, next = line.nextElementSibling;
  const own = (el) => el?.classList.contains("ctx") && el.dataset.of === line.dataset.id;
  if (own(prev) || own(next)) {
    const hide = !(own(prev) ? prev : next).hidden;
    for (const el of [prev, next]) if (own(el)) el.hidden = hide;
    return;
  }
  const id = line.dataset.id;
  let page;
  try {
    page = await fetchPage(path, { around: id, limit: 2 * CONTEXT + 1 }, false);
  } catch (err) {
    view.insertBeside(line, null, block(id, [], view.look, `No context: ${err.reason}`));
    return;
  }
  const { before, after } = splitAround(page.lines, id);
  view.insertBeside(line, block(id, before, view.look), block(id, after, view.look));
}
