// filetree: the folder tree of the file list, kept by path as files come and
// go, and flattened into the rows the sidebar shows (pure: no DOM). A change
// costs the depth of its path; flattening costs the rows shown, or one pass
// over the names when they are filtered. So 100,000 files in 1,000 folders
// stay cheap to keep live and to filter (bench/viewer_files.py). A filter
// that extends the one before it (the reader typing on) looks only through
// that one's matches.
//
// Order: at each level folders first, then files, each by name (code units,
// so the order is the same in every locale).

function byName(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

function newDir(path, depth, parent = null) {
  // dirs: child folder name -> node; files: file name -> path; row: the
  // folder's row under a filter (all folders open); up: the parent folder.
  const name = path.slice(path.lastIndexOf("/") + 1);
  const row = { kind: "dir", path, name, depth: depth - 1, open: true };
  return { path, depth, dirs: new Map(), files: new Map(), sorted: null, row, up: parent };
}

/** A node's folders and files in order, cached until the node changes. */
function sorted(node) {
  if (!node.sorted) {
    node.sorted = {
      dirs: [...node.dirs.keys()].sort(byName).map((name) => [name, node.dirs.get(name)]),
      // Each file's row, as flatten() returns it, with its path in lower case.
      files: [...node.files.keys()].sort(byName).map((name) => {
        const path = node.files.get(name);
        return { kind: "file", path, name, depth: node.depth, lower: path.toLowerCase(), folder: node };
      }),
    };
  }
  return node.sorted;
}

// Filters remembered with their matches (the reader types on, or erases), up
// to this many matches in all (a reference each).
const REMEMBERED_MATCHES = 400000;

export class FileTree {
  constructor() {
    this.clear();
  }

  /** Forget every file. */
  clear() {
    this.root = newDir("", 0);
    this.size = 0;
    this.found = new Map(); // filter -> its matching files' rows, in order
    this.foundSize = 0;
    this.all = null; // every file's row, in order (built when a filter needs it)
  }

  _changed() {
    this.found.clear();
    this.foundSize = 0;
    this.all = null;
  }

  /** Add a file by its path ("a/b/c.log"); a path already there is left as it is. */
  add(path) {
    const parts = path.split("/");
    let node = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      let child = node.dirs.get(parts[i]);
      if (!child) {
        child = newDir(parts.slice(0, i + 1).join("/"), i + 1, node);
        node.dirs.set(parts[i], child);
        node.sorted = null;
      }
      node = child;
    }
    const name = parts[parts.length - 1];
    if (node.files.has(name)) return;
    node.files.set(name, path);
    node.sorted = null;
    this.size++;
    this._changed();
  }

  /** Remove a file by its path, and the folders it leaves empty. Returns whether it was there. */
  remove(path) {
    const parts = path.split("/");
    const trail = [this.root];
    for (let i = 0; i < parts.length - 1; i++) {
      const child = trail[trail.length - 1].dirs.get(parts[i]);
      if (!child) return false;
      trail.push(child);
    }
    const node = trail[trail.length - 1];
    if (!node.files.delete(parts[parts.length - 1])) return false;
    node.sorted = null;
    this.size--;
    this._changed();
    for (let i = trail.length - 1; i > 0 && !trail[i].dirs.size && !trail[i].files.size; i--) {
      trail[i - 1].dirs.delete(parts[i - 1]);
      trail[i - 1].sorted = null;
    }
    return true;
  }

  /**
   * The rows to show, in order: {kind: "dir", path, name, depth, open} and
   * {kind: "file", path, name, depth}. Without `query`, a folder's contents
   * are listed if `isOpen(folderPath)`; with one (lower case), every file
   * whose path contains it is listed under its folders, all open.
   * Returns {rows, matches} (matches: files listed, or null without a query).
   */
  flatten(isOpen, query = "") {
    const rows = [];
    if (!query) {
      this._walk(this.root, isOpen, rows);
      return { rows, matches: null };
    }
    const files = this._matching(query);
    let prev = this.root;
    for (const f of files) {
      if (f.folder !== prev) {
        // The folders of this file that the one before it was not in, outermost first.
        const inPrev = new Set();
        for (let d = prev; d; d = d.up) inPrev.add(d);
        const fresh = [];
        for (let d = f.folder; !inPrev.has(d); d = d.up) fresh.push(d.row);
        for (let i = fresh.length - 1; i >= 0; i--) rows.push(fresh[i]);
        prev = f.folder;
      }
      rows.push(f);
    }
    return { rows, matches: files.length };
  }

  /** The rows of the files whose path contains `query`, in order. */
  _matching(query) {
    let found = this.found.get(query);
    if (found) return found;
    // A remembered filter that this one extends: its matches hold all of this one's.
    let base = null;
    for (const [q, files] of this.found) {
      if (query.includes(q) && (!base || files.length < base.length)) base = files;
    }
    if (!base) {
      if (!this.all) {
        this.all = [];
        this._collect(this.root, this.all);
      }
      base = this.all;
    }
    found = base.filter((f) => f.lower.includes(query));
    while (this.found.size && this.foundSize + found.length > REMEMBERED_MATCHES) {
      const [oldest, files] = this.found.entries().next().value;
      this.found.delete(oldest);
      this.foundSize -= files.length;
    }
    this.found.set(query, found);
    this.foundSize += found.length;
    return found;
  }

  _walk(node, isOpen, rows) {
    const { dirs, files } = sorted(node);
    for (const [name, child] of dirs) {
      const open = isOpen(child.path);
      rows.push({ kind: "dir", path: child.path, name, depth: node.depth, open });
      if (open) this._walk(child, isOpen, rows);
    }
    for (const f of files) rows.push(f);
  }

  _collect(node, all) {
    const { dirs, files } = sorted(node);
    for (const [, child] of dirs) this._collect(child, all);
    for (const f of files) all.push(f);
  }
}
