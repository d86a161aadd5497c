// empty: what the log pane says when it shows no log line. A blank pane must
// mean nothing, so each reason gets its own calm message: no file open (in the
// words of the device: tap or click), no files at all, loading, waiting for
// the server, an empty file, no match so far (and how far back was looked),
// every line hidden by the level buttons, cleared by the reader, a compressed
// file, a file that cannot be opened. Owns #empty. Never says what another
// control already says (a bad filter is told at the filter box only, the
// connection by the status pill), and never touches a log line.

import { formatSize } from "./files.js";

const $ = (id) => document.getElementById(id);

const COMPRESSION = [[/\.gz$|\.tgz$/, "gzip"], [/\.bz2$/, "bzip2"], [/\.xz$/, "xz"], [/\.zst$/, "zstd"],
  [/\.lz4$/, "lz4"], [/\.zip$/, "zip"], [/\.Z$/, "compress"]];

/** The compression a file's name says it has ("gzip" …), or null. */
export function compression(path) {
  for (const [re, name] of COMPRESSION) if (re.test(path)) return name;
  return null;
}

function basename(path) { return path.slice(path.lastIndexOf("/") + 1); }

function names(paths) {
  const n = paths.map(basename);
  return n.length <= 2 ? n.join(" and ") : `${n.length} files`;
}

/** "A", "A or B", "A, B or C". */
function either(words) {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

function quoted(filter) {
  return filter.regex ? `/${filter.text}/` : `“${filter.text}”`;
}

/**
 * What the pane says for a view `v`, or null when it shows lines. `v`:
 * { files, streamed, narrow (a phone's width), touch (no mouse), filesLoaded, fileCount, sizeOf(path) -> bytes|null,
 *   stream: {status, caughtUp, message, httpStatus} | null, filterError,
 *   filter, where (the field filter, trimmed), hidden (Set), lineCount, received, paused, cleared, visibleLine (bool),
 *   backlog: Map(path -> incomplete backlog info), backlogLines,
 *   history: {title, reason} when the place in the history asked for cannot be shown (history.js) }.
 * Returns { title, body, download? } (download: a path to offer).
 */
export function describe(v) {
  if (!v.files.length) {
    if (v.filesLoaded && v.fileCount === 0) {
      return { title: "No log files yet", body: "Files appear in the list as they are created in the directory." };
    }
    if (v.narrow) { // the file list is a drawer behind ☰
      return { title: "No file open", body: "Tap ☰ to see the files, then tap one to follow it. Tick more to follow them together." };
    }
    return v.touch
      ? { title: "No file open", body: "Tap a file on the left to follow it. Tick more files to follow them together." }
      : { title: "No file open", body: "Click a file on the left to follow it. Ctrl-click or tick more files to follow them together in one merged view." };
  }
  if (!v.streamed.length) {
    const path = v.files[0];
    return {
      title: `${basename(path)} is compressed`,
      body: `A finished rotation, compressed with ${compression(path)}: it cannot be followed or shown here. `
        + "Download it to read it:",
      download: path,
    };
  }
  if (v.history) return { title: v.history.title, body: `The server said: ${v.history.reason}.` };
  if (v.lineCount > 0) {
    if (v.visibleLine) return null;
    const shown = ["error", "warn", "info", "debug"].filter((l) => !v.hidden.has(l)).map((l) => l.toUpperCase());
    return {
      title: shown.length ? `No ${either(shown)} line so far` : "Every level is hidden",
      body: `${v.lineCount.toLocaleString()} line${v.lineCount === 1 ? " is" : "s are"} hidden by the level buttons `
        + `(${[...v.hidden].map((l) => l.toUpperCase()).join(", ")} off).`,
    };
  }
  if (v.received > 0) {
    // Arrived but not drawn: held by pause, or drawn at the next frame.
    return v.paused ? { title: "Paused", body: `${v.received.toLocaleString()} lines are waiting: resume to see them.` } : null;
  }
  const s = v.stream;
  if (v.filterError) return null; // said at the filter box, once
  if (s && s.status === "error") {
    return { title: `Cannot show ${names(v.streamed)}`, body: `The server said: ${s.message}.` };
  }
  if (v.cleared) return { title: "Cleared", body: "New lines appear here as they are written." };
  if (!s || !s.caughtUp) {
    if (s && (s.status === "reconnecting" || s.status === "offline")) {
      return { title: "Waiting for the server", body: "Lines appear as soon as the connection is back." };
    }
    return {
      title: `Loading ${names(v.streamed)}…`,
      body: v.filter.text ? `Looking for lines ${v.filter.invert ? "not " : ""}matching ${quoted(v.filter)}.` : "",
    };
  }
  if (v.filter.text) return noMatch(v);
  if (v.where) {
    return {
      title: `No line's fields match “${v.where}” so far`,
      body: "Only JSON and logfmt lines have fields. Matching lines appear here as they are written.",
    };
  }
  const sizes = v.streamed.map(v.sizeOf);
  if (sizes.every((n) => n === 0)) {
    return {
      title: v.streamed.length === 1 ? `${basename(v.streamed[0])} is empty` : "These files are empty",
      body: "New lines appear here as they are written.",
    };
  }
  if (v.backlogLines === 0) {
    return { title: "No earlier lines", body: "This server sends no backlog (--max-backlog 0): new lines appear here as they are written." };
  }
  return { title: `No complete line in ${names(v.streamed)} yet`, body: "A line is shown once its newline is written." };
}

function noMatch(v) {
  const f = v.filter;
  const title = `No line ${f.invert ? "outside" : "matches"} ${quoted(f)} so far`;
  if (v.backlogLines === 0) {
    return { title, body: "Earlier lines were not searched (the server sends no backlog); new matching lines appear here." };
  }
  const scopes = v.streamed.map((path) => {
    const cut = v.backlog.get(path);
    const size = v.sizeOf(path);
    if (cut && cut.scanned_bytes) {
      return `the last ${formatSize(cut.scanned_bytes)} of ${basename(path)}${size ? ` (${formatSize(size)}; older lines were not searched)` : ""}`;
    }
    return size === null ? `all of ${basename(path)}` : `all of ${basename(path)} (${formatSize(size)})`;
  });
  return { title, body: `Searched ${scopes.join(", ")}. Matching lines appear here as they are written.` };
}

/** Whether the list holds a line the level buttons do not hide. */
export function hasVisibleLine(list, hidden) {
  if (!hidden.size) return list.querySelector(".ln") !== null;
  const off = [...hidden].flatMap((l) => (l === "info" ? ["lv-info", "lv-none"] : [`lv-${l}`]));
  return list.querySelector(`.ln${off.map((c) => `:not(.${c})`).join("")}`) !== null;
}

export class EmptyState {
  /** describeView(): the view `v` for describe(); downloadUrl(path): a download link. */
  constructor({ describeView, downloadUrl }) {
    this.describeView = describeView;
    this.downloadUrl = downloadUrl;
    this.scheduled = false;
    setInterval(() => this.render(), 1000);
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => { this.scheduled = false; this.render(); }, 100);
  }

  render() {
    const el = $("empty");
    const m = describe(this.describeView());
    el.hidden = !m;
    if (!m) return;
    const key = JSON.stringify(m);
    if (el.dataset.key === key) return;
    el.dataset.key = key;
    const title = document.createElement("p");
    title.className = "empty-title";
    title.textContent = m.title;
    const body = document.createElement("p");
    body.textContent = m.body;
    el.replaceChildren(title);
    if (m.body) el.appendChild(body);
    if (m.download) {
      const a = document.createElement("a");
      a.className = "btn";
      a.href = this.downloadUrl(m.download);
      a.setAttribute("download", "");
      a.textContent = `Download ${basename(m.download)}`;
      el.appendChild(a);
    }
  }
}
