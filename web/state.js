// state: the view state (open files, filter, hidden levels, wrap, window size)
// and its permalink, the URL hash (#file=…&q=…&hide=…). Owns reading and
// writing the hash and the filter's form for the server. Never touches the DOM
// and never opens a connection: the app decides what a change restarts.

import { cleanRules, COLOURS, storedRules } from "./rules.js";
import { escapeRegExp, LEVELS } from "./render.js";

export const DEFAULT_MAX = 10000;
// A phone is too narrow for unwrapped lines: only their timestamps would show.
export const DEFAULT_WRAP = globalThis.matchMedia?.("(max-width: 760px)").matches ?? false;
const MAX_FILES = 32;

export const state = {
  files: [],
  filter: { text: "", regex: false, caseSensitive: false, invert: false },
  hidden: new Set(), // hidden levels
  wrap: DEFAULT_WRAP,
  max: DEFAULT_MAX,
  where: "", // field filter clauses as typed, `;`-separated (the server's where=)
  rules: [], // highlight rules {re, colour} (also kept in local storage)
  pinned: [], // fields of JSON/logfmt lines shown as columns (also kept in local storage)
  group: false, // stack traces as one entry: the server's group=1 (also kept in local storage)
  // Where in the history the view opens (history.js): a line {at}, a range {from, to}, a time {since}; null: the live end.
  anchor: null,
};

const GROUP_KEY = "logstream.group";

/** Join stack traces into one entry (group=1), or not; remembered here and in the permalink. */
export function setGroup(on) {
  state.group = on;
  localStorage.setItem(GROUP_KEY, on ? "1" : "0");
  writeHash();
}

/** Open the view at a place in the history (see state.anchor), or at the live end (null); says so in the hash. */
export function setAnchor(anchor) {
  state.anchor = anchor;
  writeHash();
}

const PINNED_KEY = "logstream.pinned";
const MAX_PINNED = 8;

function storedPinned() {
  try {
    const v = JSON.parse(localStorage.getItem(PINNED_KEY) || "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string" && x).slice(0, MAX_PINNED) : [];
  } catch {
    return [];
  }
}

/** The field filter's clauses, one per `;` (outside double quotes), blanks dropped. */
export function whereClauses() {
  const out = [];
  let cur = "", quoted = false;
  const text = state.where;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quoted && i + 1 < text.length) { cur += c + text[++i]; continue; }
    if (c === '"') quoted = !quoted;
    if (c === ";" && !quoted) { out.push(cur); cur = ""; } else cur += c;
  }
  out.push(cur);
  return out.map((c) => c.trim()).filter(Boolean);
}

/** Pin a field as a column, or unpin it; remembered here and in the permalink. */
export function togglePinned(path) {
  state.pinned = state.pinned.includes(path)
    ? state.pinned.filter((p) => p !== path)
    : [...state.pinned, path].slice(-MAX_PINNED);
  localStorage.setItem(PINNED_KEY, JSON.stringify(state.pinned));
  writeHash();
}

/** Open these files (at most MAX_FILES) and say so in the hash. */
export function setFiles(paths) {
  state.files = paths.slice(0, MAX_FILES);
  writeHash();
}

/** The filter as the server's pattern (RE2; "(?i)" unless case matters), or "". */
export function serverPattern() {
  return patternFor(state.filter);
}

/** A pattern box's {text, regex, caseSensitive} as the server's RE2 pattern, or "" (the filter, the search panel). */
export function patternFor(f) {
  if (!f.text) return "";
  const body = f.regex ? f.text : escapeRegExp(f.text);
  return f.caseSensitive ? body : `(?i)${body}`;
}

/**
 * A filter error from the server ("filter: invalid regular expression: missing ):
 * (?i)beta(") in the terms of `text`, the pattern the reader typed, which the
 * server got as `sent` (with "(?i)" in front, or escaped): {reason, at}, `at`
 * the 0-based position of the fault in `text`, or null if it cannot be placed.
 */
export function explainPatternError(message, sent, text) {
  const body = message.replace(/^filter: /, "").replace(/^invalid regular expression: /, "");
  const cut = body.lastIndexOf(": ");
  const reason = cut > 0 ? body.slice(0, cut) : body;
  const fragment = cut > 0 ? body.slice(cut + 2) : "";
  const offset = sent.length - text.length; // what we put in front ("(?i)")
  if (offset < 0 || sent.slice(offset) !== text) return { reason: body, at: null }; // escaped: no place to show
  let at = null;
  if (reason === "missing )" || reason === "unexpected )") at = unbalancedParen(text, reason === "missing )");
  else if (reason.startsWith("trailing \\")) at = text.length - 1;
  else if (fragment) {
    const i = sent.indexOf(fragment, offset);
    if (i >= 0) at = i - offset;
  }
  return { reason, at };
}

/** The position of the first unmatched ")" or (open) the last unclosed "(" in a pattern, or null. */
function unbalancedParen(text, open) {
  const stack = [];
  let inClass = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") { i++; continue; }
    if (inClass) { if (c === "]") inClass = false; continue; }
    if (c === "[") inClass = true;
    else if (c === "(") stack.push(i);
    else if (c === ")") {
      if (!stack.length) return open ? null : i;
      stack.pop();
    }
  }
  return open && stack.length ? stack[stack.length - 1] : null;
}

function hashParams() {
  const q = new URLSearchParams();
  for (const f of state.files) q.append("file", f);
  const f = state.filter;
  if (f.text) q.set("q", f.text);
  if (f.regex) q.set("re", "1");
  if (f.caseSensitive) q.set("case", "1");
  if (f.invert) q.set("invert", "1");
  if (state.where.trim()) q.set("where", state.where);
  if (state.hidden.size) q.set("hide", [...state.hidden].join(","));
  if (state.wrap !== DEFAULT_WRAP) q.set("wrap", state.wrap ? "1" : "0");
  if (state.group) q.set("group", "1");
  if (state.max !== DEFAULT_MAX) q.set("max", String(state.max));
  for (const p of state.pinned) q.append("col", p);
  for (const r of state.rules) q.append("hl", `${r.colour}:${r.re}`);
  for (const [k, v] of Object.entries(state.anchor || {})) q.set(k, v);
  return q.toString();
}

let lastHash = null;

export function writeHash() {
  const h = hashParams();
  lastHash = h;
  history.replaceState(null, "", h ? `#${h}` : location.pathname + location.search);
}

/** True if the URL hash is the one we wrote or read last (no news in it). */
export function hashIsCurrent() {
  return location.hash.slice(1) === lastHash;
}

/** Read the view from the URL hash; returns true if the stream must restart. */
export function readHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  const before = JSON.stringify([state.files, state.filter, state.where, state.max, state.group, state.anchor]);
  state.files = q.getAll("file").filter(Boolean).slice(0, MAX_FILES);
  state.filter = {
    text: q.get("q") || "",
    regex: q.get("re") === "1",
    caseSensitive: q.get("case") === "1",
    invert: q.get("invert") === "1",
  };
  state.where = q.get("where") || "";
  state.hidden = new Set((q.get("hide") || "").split(",").filter((l) => LEVELS.includes(l)));
  state.wrap = q.has("wrap") ? q.get("wrap") === "1" : DEFAULT_WRAP;
  state.group = q.has("group") ? q.get("group") === "1" : localStorage.getItem(GROUP_KEY) === "1";
  const max = Number(q.get("max"));
  state.max = max >= 100 && max <= 100000 ? max : DEFAULT_MAX;
  // A link's columns win; without any, the ones this browser remembers.
  state.pinned = q.has("col") ? q.getAll("col").filter(Boolean).slice(0, MAX_PINNED) : storedPinned();
  state.rules = q.has("hl")
    ? cleanRules(q.getAll("hl").map((h) => ({ colour: h.slice(0, h.indexOf(":")), re: h.slice(h.indexOf(":") + 1) }))
      .filter((r) => COLOURS.includes(r.colour)))
    : storedRules();
  state.anchor = q.get("at") ? { at: q.get("at") }
    : q.get("from") && q.get("to") ? { from: q.get("from"), to: q.get("to") }
      : q.get("since") ? { since: q.get("since") } : null;
  lastHash = location.hash.slice(1);
  return JSON.stringify([state.files, state.filter, state.where, state.max, state.group, state.anchor]) !== before;
}
