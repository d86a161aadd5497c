// structured: a JSON or logfmt line (parsed by fields.js) as DOM: its time,
// level and message first, then the pinned fields as columns, then the other
// fields as compact key=value chips (the key in .fk, the value as text); a click on the line expands it into an
// indented, coloured tree of all its values, with a pin button per field.
//
// Text only: keys and values from the log reach the page through
// createTextNode / textContent, never as markup; class names come from a
// fixed list.

import { lookup } from "./fields.js";
import { formatTime, toMillis } from "./timefmt.js";

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

/**
 * `text` into `parent`, the filter's matches in <mark> and the highlight rules'
 * in <span class="hl hl-colour">; where two overlap, the first to start (the
 * filter's, at a tie) wins.
 */
export function appendMarked(parent, text, highlight, rules) {
  const marks = highlight ? highlight(text) : [];
  if (rules) for (const m of rules(text)) marks.push(m);
  if (!marks.length) { parent.appendChild(document.createTextNode(text)); return; }
  marks.sort((a, b) => a.start - b.start || (a.cls ? 1 : 0) - (b.cls ? 1 : 0));
  let at = 0;
  for (const m of marks) {
    if (m.start < at) continue;
    if (m.start > at) parent.appendChild(document.createTextNode(text.slice(at, m.start)));
    parent.appendChild(el(m.cls ? "span" : "mark", m.cls || null, text.slice(m.start, m.end)));
    at = m.end;
  }
  if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
}

/** The time of a structured line as `mode` shows it (see timefmt.js). */
function timeElement(value, mode) {
  const span = el("span", "ts");
  const ms = mode && mode !== "written" ? toMillis(value) : null;
  if (ms === null) {
    span.textContent = String(value);
  } else {
    span.textContent = formatTime(ms, mode);
    span.title = String(value);
    span.dataset.t = String(ms);
  }
  return span;
}

/** The keys shown first (time, level, message), not again as chips. */
function headKeys(f) {
  return new Set([f.timeKey, f.levelKey, f.messageKey].filter(Boolean));
}

/**
 * The structured part of a line (a <span class="sv">): `f` from parseFields,
 * `pinned` the pinned field paths (columns), `timeMode` how to show the time
 * (see timefmt.js), `highlight` the filter's highlighter or null, `rules`
 * the highlight rules' marker (rules.js) or null.
 */
export function structuredElement(f, { pinned = [], highlight = null, rules = null, timeMode = "written" } = {}) {
  const sv = el("span", "sv");
  if (f.time !== null) sv.appendChild(timeElement(f.time, timeMode));
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
    appendMarked(msg, f.message, highlight, rules);
    sv.appendChild(msg);
  }
  const skip = headKeys(f);
  for (const path of pinned) skip.add(path);
  for (const key of Object.keys(f.values)) {
    if (skip.has(key)) continue;
    // One element a chip (its key): at 5,000 lines/s every node counts.
    sv.appendChild(el("span", "fk", `${key}=`));
    appendMarked(sv, clip(compact(f.values[key]), CHIP_MAX), highlight, rules);
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
 * selection) expands or collapses its tree; a pin button calls onPin(path);
 * the "+N lines" toggle of a several-line entry (render.js) shows or hides the rest.
 * `pinned()` gives the current pinned fields.
 */
export function bindStructured(list, { onPin, pinned }) {
  list.addEventListener("click", (e) => {
    const more = e.target.closest?.(".more");
    if (more && list.contains(more)) {
      const line = more.closest(".ln");
      setExpanded(line, more, !line.classList.contains("expanded"));
      return;
    }
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

/** Show or hide the rest of a several-line entry; its toggle says what a click does. */
export function setExpanded(div, more, expanded) {
  div.classList.toggle("expanded", expanded);
  more.textContent = expanded ? "show less" : `+${more.dataset.lines} lines`;
  more.setAttribute("aria-expanded", String(expanded));
}
