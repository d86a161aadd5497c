// app: start-up and wiring. Builds the log view, the toolbar, the file list,
// the connections, the status pill and the session, and passes what each one
// reports to the others; reads the permalink on load and when the hash
// changes. Every server URL is relative (the app may live under a
// --base-path). Never renders a line, builds a URL or draws a control itself:
// the modules it wires own those.

import { Connections } from "./connection.js";
import { FileList } from "./files.js";
import { controlMessage, makeHighlighter, sourceFor } from "./render.js";
import { Session } from "./session.js";
import { bindShortcuts } from "./shortcuts.js";
import { DEFAULT_MAX, hashIsCurrent, readHash, setFiles, state } from "./state.js";
import { ConnectionStatus } from "./status.js";
import { Toolbar } from "./toolbar.js";
import { LogView } from "./view.js";

const $ = (id) => document.getElementById(id);

// What the server allows and promises, from /healthz (these defaults until it answers).
const settings = {
  heartbeat: 15, // seconds between pings; 0: none, so silence never means "stale"
  retryMs: 2000,
  maxBacklog: null, // --max-backlog: the most lines a stream may ask for
  streamsPerClient: Infinity, // --max-per-ip / --max-connections: 1 leaves no room for a live file list
};

const view = new LogView({
  scroller: $("scroller"),
  list: $("lines"),
  max: DEFAULT_MAX,
  onChange: () => toolbar.scheduleCounts(),
});
const toolbar = new Toolbar({ view, onFilter: restartStream, onFiles: openFiles });
const files = new FileList({ tree: $("tree"), countEl: $("file-count"), onOpen: openFile });
$("file-filter").addEventListener("input", (e) => files.setQuery(e.target.value));
bindShortcuts({ toolbar, view });

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
  onFileEvents: (events) => files.apply(events),
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
});

function openFiles(paths) {
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

/** (Re)start the stream for the current files and filter, from a clean view. */
function restartStream() {
  connections.closeStream();
  view.clear();
  view.highlight = makeHighlighter(state.filter);
  toolbar.hideFilterError();
  const merged = state.files.length > 1;
  const sources = new Map(state.files.map((p, i) => [p, sourceFor(p, i, state.files)]));
  document.body.classList.toggle("has-files", state.files.length > 0);
  $("lines").classList.toggle("merged", merged);
  toolbar.renderFiles();
  files.setOpen(state.files);
  document.title = state.files.length ? `${state.files.join(", ")} · logstream` : "logstream";
  toolbar.renderFilterState();
  status.render();
  if (!state.files.length || !session.signedIn) return;
  connections.openStream({
    merged,
    onLines: (lines) => view.addLines(merged
      ? lines.map((l) => ({ data: l.data, source: sources.get(l.path) || sourceFor(l.path, 7) }))
      : lines),
    onControl: (type, info) => view.addSeparator(type, controlMessage(type, info)),
    onState: (s) => {
      if (s.status === "error" && s.httpStatus === 401) session.showLogin();
      else if (s.status === "error") view.addSeparator("error", `${s.message} — click the status to try again`);
      if (s.status === "error" && state.filter.text && /filter/i.test(s.message)) toolbar.showFilterError(s.message);
      status.render();
    },
  });
}

/** Read the view from the URL hash and show it; true if the stream must restart. */
function loadHash() {
  const changed = readHash();
  view.setMax(state.max);
  toolbar.load();
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
  } catch { /* defaults */ }
}

async function begin() {
  await loadHealth();
  connections.openFiles();
  restartStream();
}

// The viewer tests (tests/test_viewer.py) read these: the view, the stream and
// the counts of streams opened; they set hiddenGraceMs to shorten the hidden
// tab's grace period. Keep the names. Nothing in the viewer reads this object.
window.__logstream = {
  view, settings,
  get streams() { return connections.streamsOpened; },
  get filesStreams() { return connections.filesStreamsOpened; },
  get stream() { return connections.stream; },
  get filesOpen() { return connections.filesStream !== null; },
  get hiddenGraceMs() { return connections.hiddenGraceMs; },
  set hiddenGraceMs(ms) { connections.hiddenGraceMs = ms; },
};

// ---- start ---------------------------------------------------------------------
toolbar.restore();
loadHash();
const auth = await session.check();
if (auth.required && !auth.authenticated) {
  await loadHealth();
  session.showLogin();
} else {
  await session.enter();
}
