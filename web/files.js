// files: the sidebar. Owns the list of files (kept live from /api/files/events:
// snapshot, created, deleted, moved, changed), the folder tree, the name filter
// and which files are open; each file's download link. File names are text:
// textContent only.

import { downloadUrl } from "./connection.js";

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

function basename(path) { return path.slice(path.lastIndexOf("/") + 1); }

export class FileList {
  /**
   * tree: the <ul> to fill; onOpen(path, add): open a file alone (add=false) or
   * add/remove it to/from the merged view (add=true).
   */
  constructor({ tree, countEl, onOpen }) {
    this.tree = tree;
    this.countEl = countEl;
    this.onOpen = onOpen;
    this.files = new Map(); // path -> {path, size, mtime}
    this.rows = new Map(); // path -> {row, meta}
    this.open = [];
    this.query = "";
    this.collapsed = new Set();
    this.renderTimer = null;
    this.loaded = false;
    this.live = true;
    setInterval(() => { if (!document.hidden) this._refreshAges(); }, 5000);
  }

  /** Apply events from /api/files/events. */
  apply(events) {
    let structural = false;
    for (const e of events) {
      let data;
      try { data = JSON.parse(e.data); } catch { continue; }
      if (e.type === "snapshot") {
        this.files = new Map((data.files || []).map((f) => [f.path, f]));
        this.loaded = true;
        this.live = data.live !== false; // false: read once, not followed
        structural = true;
      } else if (e.type === "created") {
        structural ||= !this.files.has(data.path);
        this.files.set(data.path, data);
      } else if (e.type === "deleted") {
        structural ||= this.files.delete(data.path);
      } else if (e.type === "moved") {
        this.files.delete(data.path);
        this.files.set(data.dest, { path: data.dest, size: data.size, mtime: data.mtime });
        structural = true;
      } else if (e.type === "changed") {
        const known = this.files.has(data.path);
        this.files.set(data.path, data);
        if (known) this._updateRow(data);
        else structural = true;
      }
    }
    if (structural) this._scheduleRender();
  }

  setOpen(paths) {
    this.open = paths.slice();
    for (const [path, { row, box }] of this.rows) {
      const on = this.open.includes(path);
      row.classList.toggle("open", on);
      box.checked = on;
      row.querySelector(".name").setAttribute("aria-current", on ? "true" : "false");
    }
  }

  setQuery(query) {
    this.query = query.trim().toLowerCase();
    this._render();
  }

  _scheduleRender() {
    if (this.renderTimer) return;
    // Bursts of created/deleted (a directory copied in) render once.
    this.renderTimer = setTimeout(() => { this.renderTimer = null; this._render(); }, 50);
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

  _render() {
    const paths = [...this.files.keys()].sort();
    const shown = this.query ? paths.filter((p) => p.toLowerCase().includes(this.query)) : paths;
    this.countEl.textContent = this.loaded
      ? (this.query ? `${shown.length} of ${paths.length} files` : `${paths.length} file${paths.length === 1 ? "" : "s"}`)
        + (this.live ? "" : " (as listed on opening: this server allows one stream per client, and it is the log's)")
      : "loading…";
    // Build the folder tree: {dirs: Map(name -> node), files: [path]}.
    const root = { dirs: new Map(), files: [] };
    for (const p of shown) {
      const parts = p.split("/");
      let node = root;
      for (const dir of parts.slice(0, -1)) {
        if (!node.dirs.has(dir)) node.dirs.set(dir, { dirs: new Map(), files: [] });
        node = node.dirs.get(dir);
      }
      node.files.push(p);
    }
    this.rows = new Map();
    const frag = document.createDocumentFragment();
    this._renderNode(root, "", frag, 0);
    if (!shown.length && this.loaded) {
      const li = document.createElement("li");
      li.className = "none";
      li.textContent = this.query ? "No file matches." : "No files yet: they appear here as they are created.";
      frag.appendChild(li);
    }
    this.tree.replaceChildren(frag);
    this.setOpen(this.open);
  }

  _renderNode(node, prefix, parent, depth) {
    for (const [name, child] of [...node.dirs].sort((a, b) => a[0].localeCompare(b[0]))) {
      const dirPath = prefix + name;
      const li = document.createElement("li");
      li.className = "dir";
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "dir-toggle";
      toggle.style.setProperty("--depth", depth);
      const open = this.query !== "" || !this.collapsed.has(dirPath);
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = name + "/";
      toggle.addEventListener("click", () => {
        if (this.collapsed.has(dirPath)) this.collapsed.delete(dirPath);
        else this.collapsed.add(dirPath);
        this._render();
      });
      li.appendChild(toggle);
      const ul = document.createElement("ul");
      if (!open) ul.hidden = true;
      this._renderNode(child, dirPath + "/", ul, depth + 1);
      li.appendChild(ul);
      parent.appendChild(li);
    }
    for (const path of node.files) {
      const f = this.files.get(path);
      const li = document.createElement("li");
      li.className = "file";
      li.dataset.path = path;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "add";
      box.setAttribute("aria-label", `Follow ${path} in the merged view`);
      box.title = "Add to / remove from the merged view";
      box.addEventListener("change", () => this.onOpen(path, true));
      const name = document.createElement("button");
      name.type = "button";
      name.className = "name";
      name.style.setProperty("--depth", depth);
      name.textContent = basename(path);
      name.title = path; // a long name is cut in the list
      name.addEventListener("click", (e) => this.onOpen(path, e.ctrlKey || e.metaKey || e.shiftKey));
      const meta = document.createElement("span");
      meta.className = "meta";
      li.append(name, meta, downloadLink(path, "dl"), box);
      parent.appendChild(li);
      this.rows.set(path, { row: li, meta, box });
      this._updateRow(f);
    }
  }
}
