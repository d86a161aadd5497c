// app: start-up and wiring. Builds the log view, the toolbar, the file list,
// the connections, the status pill and the session, and passes what each one
// reports to the others; reads the permalink on load and when the hash
// changes. Every server URL is relative (the app may live under a
// --base-path). Never renders a line, builds a URL or draws a control itself:
// the modules it wires own those.

import { backlogLines, Connections, downloadUrl } from "./connection.js";
import { toggleContext } from "./context.js";
import { compression, EmptyState, hasVisibleLine } from "./empty.js";
import { FileList } from "./files.js";
import { controlMessage, makeHighlighter, sourceFor } from "./render.js";
import { Session } from "./session.js";
import { bindShortcuts } from "./shortcuts.js";
import { DEFAULT_MAX, hashIsCurrent, readHash, serverPattern, setAnchor, setFiles, state, togglePinned } from "./state.js";
import { ConnectionStatus } from "./status.js";
import { HighlightPanel } from "./highlights.js";
import { SearchPanel } from "./searchpanel.js";
import { History } from "./history.js";
import { interleaveByTime, newestOfEach } from "./interleave.js";
import { JumpToTime } from "./jumptime.js";
import { LineLinks } from "./linelinks.js";
import { makeRuleMarker } from "./rules.js";
import { bindStructured } from "./structured.js";
import { formatTime, storedTimeMode, storeTimeMode } from "./timefmt.js";
import { Toolbar } from "./toolbar.js";
import { LogView } from "./view.js";
import { WhereBox } from "./wherebox.js";

const $ = (id) => document.getElementById(id);
const RELATIVE_EVERY_MS = 5000;

// What the server allows and promises, from /healthz (these defaults until it answers).
const settings = {
  heartbeat: 15, // seconds between pings; 0: none, so silence never means "stale"
  retryMs: 2000,
  maxBacklog: null, // --max-backlog: the most lines a stream may ask for
  streamsPerClient: Infinity, // --max-per-ip / --max-connections: 1 leaves no room for a live file list
  defaultFile: null, // the file to open when none is chosen (the demo's app.log)
};

const view = new LogView({
  scroller: $("scroller"),
  list: $("lines"),
  max: DEFAULT_MAX,
  onChange: () => {
    toolbar.scheduleCounts();
    empty.schedule();
  },
});
const toolbar = new Toolbar({ view, onFilter: refilter, onFiles: openFiles });
const whereBox = new WhereBox({ onChange: refilter });
const files = new FileList({ tree: $("tree"), countEl: $("file-count"), onOpen: openFile });
const narrow = window.matchMedia("(max-width: 760px)");
const touch = window.matchMedia("(pointer: coarse)");

// What the stream of the open files said beyond lines: a bad filter, backlogs cut short.
const streamNotes = { filterError: false, backlog: new Map() };
const empty = new EmptyState({
  downloadUrl,
  describeView: () => ({
    files: state.files,
    streamed: streamedFiles(),
    narrow: narrow.matches,
    touch: touch.matches,
    filesLoaded: files.loaded,
    fileCount: files.files.size,
    sizeOf: (path) => (files.files.has(path) ? files.files.get(path).size : null),
    stream: connections.stream ? connections.streamState : null,
    filterError: streamNotes.filterError,
    filter: state.filter,
    where: state.where.trim(),
    hidden: state.hidden,
    lineCount: view.lineCount,
    received: view.received,
    paused: view.paused,
    cleared: view.cleared,
    visibleLine: view.lineCount > 0 && hasVisibleLine($("lines"), state.hidden),
    backlog: streamNotes.backlog,
    backlogLines: backlogLines(settings),
    history: past.error,
  }),
});
$("file-filter").addEventListener("input", (e) => files.setQuery(e.target.value));
bindStructured($("lines"), {
  pinned: () => state.pinned,
  onPin: (path) => {
    togglePinned(path);
    view.setLook({ pinned: state.pinned });
  },
});
const highlights = new HighlightPanel({
  onRules: () => view.setLook({ rules: makeRuleMarker(state.rules) }),
  onTimeMode: (mode) => {
    storeTimeMode(mode);
    view.setLook({ timeMode: mode });
  },
});
// Relative times ("3 s ago") move on: rewrite them every few seconds.
setInterval(() => {
  if (view.look.timeMode !== "relative" || document.hidden) return;
  const now = Date.now();
  for (const ts of $("lines").querySelectorAll(".ts[data-t]")) ts.textContent = formatTime(Number(ts.dataset.t), "relative", now);
}, RELATIVE_EVERY_MS);

const session = new Session({
  onSignIn: begin,
  onSignOut: () => {
    connections.closeFiles();
    connections.closeStream();
    status.render();
  },
});
const connections = new Connections({
  settings,
  onFileEvents: (events) => {
    files.apply(events);
    empty.schedule();
  },
  onFilesState: (s) => {
    if (s.status === "error" && s.httpStatus === 401) session.showLogin();
    status.render();
  },
  canOpen: () => session.signedIn,
});
const status = new ConnectionStatus({
  current: () => connections.current(),
  settings,
  onRetry: () => connections.retryNow(restartStream),
  toldElsewhere: () => streamNotes.filterError,
});

/** The filter changed: a linked line's view (unfiltered, history.js) gives way to the live end. */
function refilter() {
  if (state.anchor && !state.anchor.since) setAnchor(null);
  restartStream();
}

function openFiles(paths) {
  state.anchor = null; // a place in one file's history
  setFiles(paths);
  restartStream();
}

function openFile(path, add) {
  if (!add) {
    openFiles([path]);
    toolbar.closeSidebarOnPhone();
    return;
  }
  const i = state.files.indexOf(path);
  openFiles(i >= 0 ? state.files.filter((p) => p !== path) : [...state.files, path]);
}

/** The open files a stream can follow: a compressed rotation cannot be (see empty.js). */
function streamedFiles() {
  return state.files.filter((p) => !compression(p));
}

// The history of the one file shown (history.js): scrolling back, links, search hits, jump to time.
const past = new History({
  view,
  path: () => (streamedFiles().length === 1 && state.files.length === 1 ? state.files[0] : null),
  merged: () => (streamedFiles().length > 1 ? { paths: streamedFiles(), lastId: connections.stream?.lastId || "", sources: lineSources } : null),
  openLive: (lastId) => openLive(lastId),
  closeLive: () => { connections.closeStream(); status.render(); },
  restart: () => restartStream(),
  maxPage: () => settings.maxBacklog,
});
let openLive = () => {};
let lineSources = new Map(); // path -> the label of its lines (render.js sourceFor)
/** Open the view at a place in the history (a search hit, a time): it becomes the page's link too. */
function openAt(anchor) {
  if (anchor.at) {
    // A line is shown with its surroundings, as they are in the file: no filter.
    state.filter = { ...state.filter, text: "" };
    state.where = "";
    toolbar.load();
    whereBox.load();
  }
  setAnchor(anchor);
  restartStream();
}
const search = new SearchPanel({
  path: () => past.path(),
  onOpen: (id) => {
    openAt({ at: id });
    if (narrow.matches) search.close(); // the panel covers the log on a phone
  },
});
const jumpToTime = new JumpToTime({ path: () => past.path(), onJump: (since) => openAt({ since }) });
/** The file of a line (a merged view's line: its own); with no line, the one file shown or null. */
const linePath = (line) => past.path() ?? (line && past.merged() ? line.source?.path ?? null : null);
const lineLinks = new LineLinks({
  list: $("lines"),
  scroller: $("scroller"),
  path: linePath,
  filtered: () => Boolean(state.filter.text || state.where.trim()),
  onContext: (line) => toggleContext(view, linePath(line), line),
  drawn: (line) => view.drawnLine(line),
  onSelect: () => view.stopFollowing(),
  toast: (text) => toolbar.toast(text),
});
bindShortcuts({ toolbar, view, lineLinks });

/** (Re)start the stream for the current files and filter, from a clean view (or at state.anchor in the history). */
function restartStream() {
  connections.closeStream();
  view.clear();
  past.reset();
  view.highlight = makeHighlighter(state.filter);
  toolbar.hideFilterError();
  whereBox.hideError();
  streamNotes.filterError = false;
  streamNotes.backlog = new Map();
  const streamed = streamedFiles();
  const merged = streamed.length > 1;
  const sources = new Map(state.files.map((p, i) => [p, sourceFor(p, i, state.files)]));
  lineSources = sources;
  $("lines").classList.toggle("merged", merged);
  toolbar.renderFiles();
  search.fileChanged();
  files.setOpen(state.files);
  document.title = state.files.length ? `${state.files.join(", ")} · logstream` : "logstream";
  toolbar.renderFilterState();
  status.render();
  empty.schedule();
  if (!streamed.length || !session.signedIn) return;
  for (const path of state.files) {
    if (streamed.includes(path)) continue;
    view.addSeparator("skipped", `${path} is compressed (${compression(path)}): not shown here; download it from its tab`);
  }
  // A merged line's id is its file's part of the stream's id (the positions of all files, in the paths' order).
  const part = (l) => (l.id ? l.id.split(",")[streamed.indexOf(l.path)] : undefined);
  const show = (lines) => view.addLines(merged
    ? lines.map((l) => ({ data: l.data, id: part(l), source: sources.get(l.path) || sourceFor(l.path, 7), continuation: l.continuation }))
    : lines);
  // A merged backlog (or the catch-up of following on, history.js) is held until it is all there, then shown in time order (interleave.js).
  let held = null;
  let dropped = 0; // held lines let go beyond what the window can show
  let backlog = false; // held is the backlog (not the catch-up of following on)
  const release = () => {
    if (held === null) return;
    const lines = held;
    held = null;
    if (dropped) view.addSeparator("skipped", `${dropped.toLocaleString()} older lines are not shown: more came at once than the ${view.max.toLocaleString()}-line window holds`);
    if (!lines.length) return;
    // A backlog starts where every file's lines are in hand: a file that sent fewer
    // lines than asked (and did not stop looking) reached its start.
    const asked = backlogLines(settings);
    const sent = new Map();
    for (const l of lines) sent.set(l.path, (sent.get(l.path) || 0) + 1);
    const whole = (path) => (sent.get(path) || 0) < asked && !streamNotes.backlog.has(path);
    show(interleaveByTime(lines, backlog ? whole : null));
  };
  // Follow the live end: with its backlog, or (history.js) from after the last line shown.
  openLive = (lastId = "") => {
    held = merged ? [] : null;
    dropped = 0;
    backlog = !lastId;
    openStream(lastId);
  };
  const openStream = (lastId) => connections.openStream({
    paths: streamed,
    merged,
    lastId,
    onLines: (lines) => {
      if (held === null) show(lines);
      else {
        for (const l of lines) held.push(l);
        if (held.length > 2 * streamed.length * view.max) {
          const cut = newestOfEach(held, view.max);
          held = cut.lines;
          dropped += cut.dropped;
        }
      }
    },
    onControl: (type, info) => {
      if (type === "backlog" && info.complete === false) streamNotes.backlog.set(info.path, info);
      view.addSeparator(type, controlMessage(type, info));
    },
    onState: (s) => {
      if (s.caughtUp || !["connecting", "live"].includes(s.status)) release(); // all there, or never will be
      if (s.status === "error" && s.httpStatus === 401) session.showLogin();
      else if (s.status === "error" && state.filter.text && s.httpStatus === 400 && /^filter:/.test(s.message)) {
        // A bad pattern: told once, at the filter box, in the reader's own terms.
        streamNotes.filterError = true;
        toolbar.showFilterError(s.message, serverPattern());
      } else if (s.status === "error" && s.httpStatus === 400 && /^where:/.test(s.message)) {
        // A bad field clause: told at the field filter box.
        streamNotes.filterError = true;
        whereBox.showError(s.message);
      } else if (s.status === "error" && view.lineCount > 0) {
        view.addSeparator("error", `Stopped: ${s.message}`);
      }
      status.render();
      empty.schedule();
    },
  });
  if (past.path() && state.anchor) past.open(state.anchor);
  else openLive();
}

/** Read the view from the URL hash and show it; true if the stream must restart. */
function loadHash() {
  const changed = readHash();
  view.setMax(state.max);
  view.setLook({ pinned: state.pinned, rules: makeRuleMarker(state.rules) });
  toolbar.load();
  whereBox.load();
  return changed;
}

window.addEventListener("hashchange", () => {
  if (hashIsCurrent()) return;
  if (loadHash()) restartStream();
});

async function loadHealth() {
  try {
    const r = await fetch("healthz", { cache: "no-store" });
    const h = await r.json();
    if (Number(h.heartbeat) >= 0 && h.heartbeat !== null) settings.heartbeat = Number(h.heartbeat);
    if (Number(h.retry_ms) > 0) settings.retryMs = Number(h.retry_ms);
    if (Number.isInteger(h.max_backlog)) settings.maxBacklog = h.max_backlog;
    const limits = [h.max_per_ip, h.max_connections].filter((n) => Number.isInteger(n) && n > 0);
    settings.streamsPerClient = Math.min(Infinity, ...limits);
    if (typeof h.root === "string" && h.root) $("root-name").textContent = h.root;
    if (typeof h.default_file === "string") settings.defaultFile = h.default_file;
  } catch { /* defaults */ }
}

async function begin() {
  await loadHealth();
  // The demo opens its main log, so a first-time user sees lines moving at once.
  if (!state.files.length && !location.hash && settings.defaultFile) setFiles([settings.defaultFile]);
  connections.openFiles();
  restartStream();
}

// The viewer tests (tests/test_viewer.py) read these: the view, the stream and
// the counts of streams opened; they set hiddenGraceMs to shorten the hidden
// tab's grace period. Keep the names. Nothing in the viewer reads this object.
window.__logstream = {
  view, settings, lineLinks, jumpToTime,
  get streams() { return connections.streamsOpened; },
  get filesStreams() { return connections.filesStreamsOpened; },
  get stream() { return connections.stream; },
  get filesOpen() { return connections.filesStream !== null; },
  get hiddenGraceMs() { return connections.hiddenGraceMs; },
  set hiddenGraceMs(ms) { connections.hiddenGraceMs = ms; },
};

// ---- start ---------------------------------------------------------------------
toolbar.restore();
view.look.timeMode = storedTimeMode();
highlights.showTimeMode(view.look.timeMode);
loadHash();
const auth = await session.check();
if (auth.required && !auth.authenticated) {
  await loadHealth();
  session.showLogin();
} else {
  await session.enter();
}
