// files: the sidebar. Owns the list of files (kept live from /api/files/events:
// snapshot, created, deleted, moved, changed), which folders are open, the name
// filter and which files are open; each file's download link. The list is
// virtual: only the rows on screen (and a few either side) are in the DOM, so
// 100,000 files cost as much as 30, and an event redraws those rows at most.
// File names are text: textContent only.

import { downloadUrl } from "./connection.js";
import { FileTree } from "./filetree.js";

const ROW_PX = 28; // the height of a row of the list (style.css: .tree > li)
const OVERSCAN = 8; // rows drawn beyond each edge of the visible part
// A list of at most this many files opens all its folders; a larger one shows
// them closed until opened (the folders of the open files are opened).
const OPEN_ALL_UP_TO = 200;

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = bytes / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatAge(mtime, now = Date.now() / 1000) {
  const s = Math.max(0, Math.round(now - mtime));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(mtime * 1000).toISOString().slice(0, 10);
}

/** A link that downloads the whole file (the sidebar's and the tabs' ↓). */
export function downloadLink(path, className) {
  const a = document.createElement("a");
  a.className = className;
  a.href = downloadUrl(path);
  a.setAttribute("download", "");
  a.setAttribute("aria-label", `Download ${path}`);
  a.title = "Download the whole file";
  a.textContent = "↓";
  return a;
}

/** An empty row `px` high: the rows of the list that are not drawn. */
function gap(px) {
  const li = document.createElement("li");
  li.className = "gap";
  li.setAttribute("role", "presentation");
  li.style.height = `${px}px`;
  return li;
}

export class FileList {
  /**
   * tree: the scrolling <ul> to fill; countEl: where the count goes;
   * onOpen(path, add): open a file alone (add=false) or add/remove it to/from
   * the merged view (add=true).
   */
  constructor({ tree, countEl, onOpen }) {
    this.tree = tree;
    this.countEl = countEl;
    this.onOpen = onOpen;
    this.files = new Map(); // path -> {path, size, mtime, readable}
    this.folders = new FileTree();
    this.rows = new Map(); // path -> {row, meta, box}: the file rows in the DOM
    this.shown = []; // the rows of the list (filetree.js flatten), drawn or not
    this.matches = null;
    this.open = [];
    this.query = "";
    this.opened = new Set(); // folders the reader opened
    this.closed = new Set(); // folders the reader closed
    this.flatTimer = null;
    this.queryFrame = 0;
    this.drawScheduled = false;
    this.drawn = { start: -1, end: -1, shown: null };
    this.loaded = false;
    this.live = true;
    tree.addEventListener("scroll", () => this._scheduleDraw(), { passive: true });
    new ResizeObserver(() => this._scheduleDraw()).observe(tree);
    tree.addEventListener("click", (e) => this._onClick(e));
    tree.addEventListener("change", (e) => {
      const row = e.target.closest("li.file");
      if (row && e.target.classList.contains("add")) this.onOpen(row.dataset.path, true);
    });
    setInterval(() => { if (!document.hidden) this._refreshAges(); }, 5000);
  }

  /** Apply events from /api/files/events: the folders change by path, the rows on screen are redrawn once. */
  apply(events) {
    let structural = false;
    for (const e of events) {
      let data;
      try { data = JSON.parse(e.data); } catch { continue; }
      if (e.type === "snapshot") {
        this.files = new Map((data.files || []).map((f) => [f.path, f]));
        this.folders.clear();
        for (const path of this.files.keys()) this.folders.add(path);
        this.loaded = true;
        this.live = data.live !== false; // false: read once, not followed
        structural = true;
      } else if (e.type === "created") {
        if (!this.files.has(data.path)) { this.folders.add(data.path); structural = true; }
        this.files.set(data.path, data);
        this._updateRow(data);
      } else if (e.type === "deleted") {
        if (this.files.delete(data.path)) { this.folders.remove(data.path); structural = true; }
      } else if (e.type === "moved") {
        if (this.files.delete(data.path)) this.folders.remove(data.path);
        if (!this.files.has(data.dest)) this.folders.add(data.dest);
        this.files.set(data.dest, { path: data.dest, size: data.size, mtime: data.mtime });
        structural = true;
      } else if (e.type === "changed") {
        if (!this.files.has(data.path)) { this.folders.add(data.path); structural = true; }
        this.files.set(data.path, data);
        this._updateRow(data);
      }
    }
    if (structural) this._scheduleFlatten();
  }

  setOpen(paths) {
    const before = this.open;
    this.open = paths.slice();
    // A file opened in a closed folder (a link, the merged view): list it.
    if (paths.some((p) => !before.includes(p))) this._flatten();
    for (const [path, { row, box }] of this.rows) this._markOpen(path, row, box);
  }

  /** Filter the list by name (case-insensitive): at the next frame, so that fast typing filters once. */
  setQuery(query) {
    this.query = query.trim().toLowerCase();
    if (this.queryFrame) return;
    this.queryFrame = requestAnimationFrame(() => {
      this.queryFrame = 0;
      this.tree.scrollTop = 0;
      this._flatten();
    });
  }

  /** Whether a folder's contents are listed (see OPEN_ALL_UP_TO). */
  isOpen(dir) {
    if (this.closed.has(dir)) return false;
    if (this.opened.has(dir) || this.files.size <= OPEN_ALL_UP_TO) return true;
    return this.open.some((p) => p.startsWith(`${dir}/`));
  }

  toggleFolder(dir) {
    if (this.isOpen(dir)) { this.closed.add(dir); this.opened.delete(dir); }
    else { this.opened.add(dir); this.closed.delete(dir); }
    this._flatten();
  }

  _onClick(e) {
    const toggle = e.target.closest(".dir-toggle");
    if (toggle) { this.toggleFolder(toggle.dataset.dir); return; }
    const name = e.target.closest(".name");
    const row = name && name.closest("li.file");
    if (row) this.onOpen(row.dataset.path, e.ctrlKey || e.metaKey || e.shiftKey);
  }

  _scheduleFlatten() {
    if (this.flatTimer) return;
    // Bursts of created/deleted (a directory copied in) flatten once.
    this.flatTimer = setTimeout(() => { this.flatTimer = null; this._flatten(); }, 50);
  }

  /** The rows of the list again (the folders or the filter changed), then the count and the rows on screen. */
  _flatten() {
    clearTimeout(this.flatTimer);
    this.flatTimer = null;
    ({ rows: this.shown, matches: this.matches } = this.folders.flatten((dir) => this.isOpen(dir), this.query));
    const total = this.files.size;
    this.countEl.textContent = this.loaded
      ? (this.query ? `${this.matches} of ${total} files` : `${total} file${total === 1 ? "" : "s"}`)
        + (this.live ? "" : " (as listed on opening: this server allows one stream per client, and it is the log's)")
      : "loading…";
    this.drawn.shown = null;
    this._draw();
  }

  _scheduleDraw() {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => { this.drawScheduled = false; this._draw(); });
  }

  /** Put in the DOM the rows in view (and OVERSCAN either side); two gaps stand for the others. */
  _draw() {
    const n = this.shown.length;
    const start = Math.max(0, Math.floor(this.tree.scrollTop / ROW_PX) - OVERSCAN);
    const end = Math.min(n, start + Math.ceil((this.tree.clientHeight || 800) / ROW_PX) + 2 * OVERSCAN);
    if (this.drawn.shown === this.shown && this.drawn.start === start && this.drawn.end === end) return;
    this.drawn = { start, end, shown: this.shown };
    const reuse = this.rows;
    this.rows = new Map();
    const items = [];
    for (let i = start; i < end; i++) {
      const r = this.shown[i];
      if (r.kind === "dir") { items.push(this._dirRow(r)); continue; }
      const old = reuse.get(r.path);
      const row = old && old.depth === r.depth ? old : this._fileRow(r);
      this.rows.set(r.path, row);
      items.push(row.row);
    }
    if (!n && this.loaded) {
      const li = document.createElement("li");
      li.className = "none";
      li.textContent = this.query ? "No file matches." : "No files yet: they appear here as they are created.";
      items.push(li);
    }
    this.tree.replaceChildren(gap(start * ROW_PX), ...items, gap((n - end) * ROW_PX));
  }

  _dirRow(r) {
    const li = document.createElement("li");
    li.className = "dir";
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "dir-toggle";
    toggle.dataset.dir = r.path;
    toggle.style.setProperty("--depth", r.depth);
    toggle.setAttribute("aria-expanded", String(r.open));
    toggle.textContent = r.name + "/";
    toggle.title = r.path;
    li.appendChild(toggle);
    return li;
  }

  _fileRow(r) {
    const { path } = r;
    const li = document.createElement("li");
    li.className = "file";
    li.dataset.path = path;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "add";
    box.setAttribute("aria-label", `Follow ${path} in the merged view`);
    box.title = "Add to / remove from the merged view";
    const name = document.createElement("button");
    name.type = "button";
    name.className = "name";
    name.style.setProperty("--depth", r.depth);
    name.textContent = r.name;
    name.title = path; // a long name is cut in the list
    const meta = document.createElement("span");
    meta.className = "meta";
    li.append(name, meta, downloadLink(path, "dl"), box);
    const row = { row: li, meta, box, depth: r.depth };
    this.rows.set(path, row);
    this._updateRow(this.files.get(path));
    this._markOpen(path, li, box);
    return row;
  }

  _markOpen(path, row, box) {
    const on = this.open.includes(path);
    row.classList.toggle("open", on);
    box.checked = on;
    row.querySelector(".name").setAttribute("aria-current", on ? "true" : "false");
  }

  _updateRow(f) {
    const r = this.rows.get(f.path);
    if (!r) return;
    r.meta.textContent = f.readable === false ? "not readable" : `${formatSize(f.size)} · ${formatAge(f.mtime)}`;
    r.row.classList.toggle("unreadable", f.readable === false);
    r.row.classList.toggle("fresh", Date.now() / 1000 - f.mtime < 15);
    r.row.title = `${f.path}\n${f.size.toLocaleString()} bytes, modified ${new Date(f.mtime * 1000).toLocaleString()}`;
  }

  _refreshAges() {
    for (const [path, r] of this.rows) {
      const f = this.files.get(path);
      if (!f || f.readable === false) continue;
      r.meta.textContent = `${formatSize(f.size)} · ${formatAge(f.mtime)}`;
      r.row.classList.toggle("fresh", Date.now() / 1000 - f.mtime < 15);
    }
  }
}
