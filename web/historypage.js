// historypage: one page of a log's history from the server (GET
// api/lines/<path>, the README's HTTP API), and the pure rules for putting
// pages together: the seam between a page and the window never repeats a
// line; which lines of a window an anchor (a link, a search hit) names. Used
// by history.js (scrolling back, links, following on) and context.js (a
// line's unfiltered surroundings). No DOM.

import { encodePath, filterParams } from "./connection.js";

/**
 * The URL of a page of `path`'s history: `params` is {before|after|around|since, limit};
 * the view's filter goes with it unless `filtered` is false (context, links).
 */
export function linesUrl(path, params, filtered = true) {
  const q = filtered ? filterParams() : new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  return `api/lines/${encodePath(path)}?${q}`;
}

/** A page the server could not give: its HTTP status (0: no answer) and its reason, in its words. */
export class HistoryError extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
    this.reason = reason;
  }
}

/**
 * One page: {lines: [{id, text}], more_before, more_after}, oldest first.
 * Raises HistoryError with the server's JSON `error` (400/404: a malformed or
 * gone id, a bad time, a bad filter) or a network failure (status 0).
 */
export async function fetchPage(path, params, filtered = true) {
  let r;
  try {
    r = await fetch(linesUrl(path, params, filtered), { cache: "no-store" });
  } catch {
    throw new HistoryError(0, "the server cannot be reached");
  }
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new HistoryError(r.status, body && typeof body.error === "string" ? body.error : `HTTP ${r.status}`);
  if (!body || !Array.isArray(body.lines)) throw new HistoryError(r.status, "the server's answer is not a page of lines");
  return body;
}

/**
 * The lines of a page that the window does not show yet (`shown(id)` says
 * which it does), as view items {data, id}, in order: the seam between a page
 * and the window never repeats a line (pure).
 */
export function unseen(lines, shown) {
  const out = [];
  const here = new Set();
  for (const l of lines) {
    if (typeof l.id !== "string" || here.has(l.id) || shown(l.id)) continue;
    here.add(l.id);
    out.push({ data: String(l.text), id: l.id });
  }
  return out;
}

/**
 * The lines of a window (their ids, in order) to highlight for an anchor:
 * {at} the line itself, {from, to} every line from `from` to `to` (either way
 * round), {since} the first line; [] when the window does not hold it (pure).
 */
export function anchorSpan(ids, anchor) {
  if (!anchor) return [];
  if (anchor.since) return ids.length ? [ids[0]] : [];
  if (anchor.at) return ids.includes(anchor.at) ? [anchor.at] : [];
  const a = ids.indexOf(anchor.from), b = ids.indexOf(anchor.to);
  if (a < 0 || b < 0) return [];
  return ids.slice(Math.min(a, b), Math.max(a, b) + 1);
}
