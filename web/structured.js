// structured: a JSON or logfmt line (parsed by fields.js) as DOM: its time,
// level and message first, then the pinned fields as columns, then the other
// fields as compact key=value chips; a click on the line expands it into an
// indented, coloured tree of all its values, with a pin button per field.
//
// Text only: keys and values from the log reach the page through
// createTextNode / textContent, never as markup; class names come from a
// fixed list.

import { lookup } from "./fields.js";

const CHIP_MAX = 80; // characters of a chip's value before "…"

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A value in one line: strings as they are, the rest as JSON. */
export function compact(value) {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  try { return JSON.stringify(value); } catch { return String(value); }
}

function clip(text, max) { return text.length > max ? `${text.slice(0, max - 1)}…` : text; }

/** `text` into `parent`, the filter's matches in <mark>. */
function appendMarked(parent, text, highlight) {
  const marks = highlight ? highlight(text) : [];
  let at = 0;
  for (const m of marks) {
    if (m.start > at) parent.appendChild(document.createTextNode(text.slice(at, m.start)));
    parent.appendChild(el("mark", null, text.slice(m.start, m.end)));
    at = m.end;
  }
  if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
}

/** The keys shown first (time, level, message), not again as chips. */
function headKeys(f) {
  return new Set([f.timeKey, f.levelKey, f.messageKey].filter(Boolean));
}

/**
 * The structured part of a line (a <span class="sv">): `f` from parseFields,
 * `pinned` the pinned field paths (columns), `timeText` how to show the time
 * (see timefmt.js), `highlight` the filter's highlighter or null.
 */
export function structuredElement(f, { pinned = [], highlight = null, timeText = null } = {}) {
  const sv = el("span", "sv");
  if (f.time !== null) sv.appendChild(el("span", "ts", timeText ? timeText(f.time) : String(f.time)));
  if (f.level) sv.appendChild(el("span", `lvw lvn-${f.level}`, f.level.toUpperCase()));
  for (const path of pinned) {
    const cell = el("span", "col");
    cell.dataset.field = path;
    cell.title = path;
    const v = lookup(f.values, path);
    cell.textContent = v === undefined ? "–" : clip(compact(v), 40);
    sv.appendChild(cell);
  }
  if (f.message !== null) {
    const msg = el("span", "msg");
    appendMarked(msg, f.message, highlight);
    sv.appendChild(msg);
  }
  const skip = headKeys(f);
  for (const path of pinned) skip.add(path);
  for (const key of Object.keys(f.values)) {
    if (skip.has(key)) continue;
    const chip = el("span", "fc");
    chip.appendChild(el("span", "fk", key));
    chip.appendChild(document.createTextNode("="));
    const v = el("span", "fv");
    appendMarked(v, clip(compact(f.values[key]), CHIP_MAX), highlight);
    chip.appendChild(v);
    sv.appendChild(chip);
  }
  return sv;
}

function scalarClass(v) {
  if (v === null) return "j-null";
  if (typeof v === "number") return "j-num";
  if (typeof v === "boolean") return "j-bool";
  return "j-str";
}

/**
 * The expanded tree of a line's values (a <div class="ftree">): one row per
 * value, indented by depth; top-level fields get a pin / unpin button.
 */
export function treeElement(f, pinned = []) {
  const tree = el("div", "ftree");
  // Indented by depth (2ch a level) past the pin buttons' column.
  const row = (depth) => {
    const r = el("div", "fr");
    r.style.paddingLeft = `${5 + depth * 2}ch`;
    return r;
  };
  const add = (key, value, depth, path) => {
    const r = row(depth);
    if (path !== null) {
      const on = pinned.includes(path);
      const pin = el("button", "pin", on ? "unpin" : "pin");
      pin.type = "button";
      pin.dataset.field = path;
      pin.setAttribute("aria-pressed", String(on));
      pin.title = on ? `Unpin ${path}` : `Pin ${path} as a column`;
      r.appendChild(pin);
    }
    r.appendChild(el("span", "j-key", typeof key === "number" ? `${key}` : JSON.stringify(key)));
    r.appendChild(document.createTextNode(": "));
    tree.appendChild(r);
    if (value !== null && typeof value === "object") {
      const array = Array.isArray(value);
      r.appendChild(document.createTextNode(array ? "[" : "{"));
      for (const [k, v] of array ? value.entries() : Object.entries(value)) add(k, v, depth + 1, null);
      const end = row(depth);
      end.textContent = array ? "]" : "}";
      tree.appendChild(end);
      return;
    }
    r.appendChild(el("span", scalarClass(value), typeof value === "string" ? JSON.stringify(value) : String(value)));
  };
  for (const [k, v] of Object.entries(f.values)) add(k, v, 0, k);
  return tree;
}

/**
 * One click listener for the whole pane: a click on a structured line (not a
 * selection) expands or collapses its tree; a pin button calls onPin(path).
 * `pinned()` gives the current pinned fields.
 */
export function bindStructured(list, { onPin, pinned }) {
  list.addEventListener("click", (e) => {
    const pin = e.target.closest?.(".pin");
    if (pin && list.contains(pin)) {
      onPin(pin.dataset.field);
      return;
    }
    if (e.target.closest?.(".ftree")) return; // reading the tree: leave it open
    const line = e.target.closest?.(".ln[data-fields]");
    if (!line || !line.fields) return;
    const sel = document.getSelection();
    if (sel && !sel.isCollapsed) return; // selecting text, not clicking
    toggleTree(line, pinned());
  });
}

/** Expand or collapse a structured line's tree. */
export function toggleTree(line, pinned) {
  const open = line.querySelector(":scope > .ftree");
  if (open) {
    open.remove();
  } else {
    line.appendChild(treeElement(line.fields, pinned));
  }
  line.setAttribute("aria-expanded", String(!open));
}
