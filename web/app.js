// app: the wiring. Owns the toolbar and the keyboard shortcuts, and passes
// what the connections, the session and the status pill report to the others
// (the view state and the permalink are state.js's). Every server URL is
// relative (the app may live under a --base-path).

import { Connections, downloadUrl } from "./connection.js";
import { FileList } from "./files.js";
import { controlMessage, LEVELS, makeHighlighter, SOURCE_COLOURS, sourceFor } from "./render.js";
import { Session } from "./session.js";
import { DEFAULT_MAX, hashIsCurrent, readHash, setFiles, state, writeHash } from "./state.js";
import { ConnectionStatus } from "./status.js";
import { LogView } from "./view.js";

const $ = (id) => document.getElementById(id);
const FONT_DEFAULT = 13;

const settings = {
  heartbeat: 15, // seconds; /healthz tells the real one
  retryMs: 2000,
};

// ---- the log view ------------------------------------------------------------------
const view = new LogView({
  scroller: $("scroller"),
  list: $("lines"),
  max: DEFAULT_MAX,
  onChange: () => scheduleChrome(),
});

let chromeScheduled = false;
function scheduleChrome() {
  if (chromeScheduled) return;
  chromeScheduled = true;
  // Toolbar counts at most ~10 times a second, never per line.
  setTimeout(() => { chromeScheduled = false; renderChrome(); }, 100);
}

function renderChrome() {
  const pauseBtn = $("pause");
  pauseBtn.setAttribute("aria-pressed", String(view.paused));
  pauseBtn.classList.toggle("active", view.paused);
  $("pause-label").textContent = view.paused ? "Resume" : "Pause";
  const held = $("pause-count");
  held.hidden = !view.paused;
  held.textContent = view.heldSincePause.toLocaleString();
  pauseBtn.title = view.paused
    ? `Resume: show the ${view.heldSincePause.toLocaleString()} lines that arrived while paused (p)`
    : "Pause: keep every arriving line, show them on resume (p)";
  $("follow").setAttribute("aria-pressed", String(view.following));
  const jump = $("jump");
  const showJump = !view.following && !view.paused && state.files.length > 0;
  jump.hidden = !showJump;
  if (showJump) {
    const n = view.newSinceFollow;
    $("jump-text").textContent = n ? `${n.toLocaleString()} new line${n === 1 ? "" : "s"}` : "Not following";
  }
  jump.dataset.count = String(view.newSinceFollow);
  $("counts").textContent = `${view.domCount.toLocaleString()} shown · ${view.received.toLocaleString()} received`;
}

// ---- opening files -------------------------------------------------------------------
/** (Re)start the stream for the current files and filter, from a clean view. */
function restartStream() {
  connections.closeStream();
  view.clear();
  view.highlight = makeHighlighter(state.filter);
  $("filter-error").hidden = true;
  $("filter").removeAttribute("aria-invalid");
  const merged = state.files.length > 1;
  const sources = new Map(state.files.map((p, i) => [p, sourceFor(p, i, state.files)]));
  document.body.classList.toggle("has-files", state.files.length > 0);
  $("lines").classList.toggle("merged", merged);
  renderChips();
  files.setOpen(state.files);
  document.title = state.files.length ? `${state.files.join(", ")} · logstream` : "logstream";
  renderFilterState();
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
      if (s.status === "error" && state.filter.text && /filter/i.test(s.message)) {
        const err = $("filter-error");
        err.textContent = s.message;
        err.hidden = false;
        $("filter").setAttribute("aria-invalid", "true");
      }
      status.render();
    },
  });
}

function openFiles(paths) {
  setFiles(paths);
  restartStream();
}

function openFile(path, add) {
  if (!add) {
    openFiles([path]);
    closeSidebarOnPhone();
    return;
  }
  const i = state.files.indexOf(path);
  openFiles(i >= 0 ? state.files.filter((p) => p !== path) : [...state.files, path]);
}

function renderChips() {
  const box = $("chips");
  const chips = state.files.map((path, i) => {
    const chip = document.createElement("span");
    chip.className = `chip c${i % SOURCE_COLOURS}`;
    chip.dataset.path = path;
    const name = document.createElement("span");
    name.className = "chip-name";
    name.textContent = path;
    name.title = path;
    const dl = document.createElement("a");
    dl.className = "chip-btn";
    dl.href = downloadUrl(path);
    dl.setAttribute("download", "");
    dl.setAttribute("aria-label", `Download ${path}`);
    dl.title = "Download the whole file";
    dl.textContent = "↓";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "chip-btn";
    close.setAttribute("aria-label", `Close ${path}`);
    close.title = "Close";
    close.textContent = "×";
    close.addEventListener("click", () => openFiles(state.files.filter((p) => p !== path)));
    chip.append(name, dl, close);
    return chip;
  });
  box.replaceChildren(...chips);
}

// ---- files list, connections, status pill, sign-in ---------------------------------------------
const files = new FileList({ tree: $("tree"), countEl: $("file-count"), onOpen: openFile });
$("file-filter").addEventListener("input", (e) => files.setQuery(e.target.value));

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

// ---- filter ------------------------------------------------------------------------------
let filterTimer = null;
function applyFilterFromInput() {
  clearTimeout(filterTimer);
  const text = $("filter").value;
  if (text === state.filter.text) return;
  state.filter.text = text;
  writeHash();
  restartStream();
}
$("filter").addEventListener("input", () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(applyFilterFromInput, 400);
});
$("filter-form").addEventListener("submit", (e) => { e.preventDefault(); applyFilterFromInput(); });

for (const [id, key] of [["opt-regex", "regex"], ["opt-case", "caseSensitive"], ["opt-invert", "invert"]]) {
  $(id).addEventListener("click", () => {
    state.filter[key] = !state.filter[key];
    syncControls();
    writeHash();
    if (state.filter.text) restartStream();
  });
}

function renderFilterState() {
  const f = state.filter;
  const parts = [];
  if (f.text) parts.push(`${f.invert ? "not matching" : "matching"} ${f.regex ? "/" + f.text + "/" : "“" + f.text + "”"}${f.caseSensitive ? " (case)" : ""}`);
  if (state.hidden.size) parts.push(`hiding ${[...state.hidden].map((l) => l.toUpperCase()).join(", ")}`);
  $("filter-state").textContent = parts.length ? `Filter: ${parts.join("; ")}` : "";
}

// ---- levels, wrap, font, theme ------------------------------------------------------------
function toggleLevel(level) {
  if (state.hidden.has(level)) state.hidden.delete(level);
  else state.hidden.add(level);
  syncControls();
  writeHash();
}
for (const btn of document.querySelectorAll(".lvl")) {
  btn.addEventListener("click", () => toggleLevel(btn.dataset.level));
}

function setWrap(on) {
  state.wrap = on;
  syncControls();
  writeHash();
}
$("wrap").addEventListener("click", () => setWrap(!state.wrap));

function fontSize() {
  const v = Number(localStorage.getItem("logstream.font"));
  return v >= 9 && v <= 24 ? v : FONT_DEFAULT;
}
function setFontSize(px) {
  const v = Math.max(9, Math.min(24, px));
  localStorage.setItem("logstream.font", String(v));
  document.documentElement.style.setProperty("--log-font-size", `${v}px`);
  if (view.following) view.follow();
}
$("font-up").addEventListener("click", () => setFontSize(fontSize() + 1));
$("font-down").addEventListener("click", () => setFontSize(fontSize() - 1));

const THEMES = ["system", "light", "dark"];
function theme() {
  const t = localStorage.getItem("logstream.theme");
  return THEMES.includes(t) ? t : "system";
}
function setTheme(t) {
  if (t === "system") {
    localStorage.removeItem("logstream.theme");
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem("logstream.theme", t);
    document.documentElement.dataset.theme = t;
  }
  $("theme-label").textContent = `Theme: ${t}`;
  $("theme").title = `Theme: ${t} — click for ${THEMES[(THEMES.indexOf(t) + 1) % 3]} (t)`;
  $("theme").dataset.theme = t;
}
$("theme").addEventListener("click", () => setTheme(THEMES[(THEMES.indexOf(theme()) + 1) % 3]));

$("window-size").addEventListener("change", (e) => {
  state.max = Number(e.target.value) || DEFAULT_MAX;
  view.setMax(state.max);
  writeHash();
});

function syncControls() {
  const f = state.filter;
  if ($("filter").value !== f.text && document.activeElement !== $("filter")) $("filter").value = f.text;
  $("opt-regex").setAttribute("aria-pressed", String(f.regex));
  $("opt-case").setAttribute("aria-pressed", String(f.caseSensitive));
  $("opt-invert").setAttribute("aria-pressed", String(f.invert));
  for (const btn of document.querySelectorAll(".lvl")) {
    btn.setAttribute("aria-pressed", String(!state.hidden.has(btn.dataset.level)));
  }
  const lines = $("lines");
  for (const level of LEVELS) lines.classList.toggle(`hide-${level}`, state.hidden.has(level));
  lines.classList.toggle("wrap", state.wrap);
  $("wrap").setAttribute("aria-pressed", String(state.wrap));
  $("window-size").value = String(state.max);
  renderFilterState();
}

// ---- pause, follow, clear -------------------------------------------------------------------
function togglePause() { view.setPaused(!view.paused); }
$("pause").addEventListener("click", togglePause);
$("follow").addEventListener("click", () => (view.following ? view.stopFollowing() : view.follow()));
$("jump").addEventListener("click", () => view.follow());
$("clear").addEventListener("click", () => view.clear());

// ---- permalink ----------------------------------------------------------------------------------
/** Read the view from the URL hash and show it; true if the stream must restart. */
function loadHash() {
  const changed = readHash();
  view.setMax(state.max);
  $("filter").value = state.filter.text;
  syncControls();
  return changed;
}

window.addEventListener("hashchange", () => {
  if (hashIsCurrent()) return;
  if (loadHash()) restartStream();
});

async function copyLink() {
  writeHash();
  const url = location.href;
  let ok = false;
  try {
    await navigator.clipboard.writeText(url);
    ok = true;
  } catch {
    // Not a secure context (plain http on a LAN address): the old way.
    const area = document.createElement("textarea");
    area.value = url;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
  }
  toast(ok ? "Link to this view copied" : "Copy this link from the address bar");
}
$("permalink").addEventListener("click", copyLink);

let toastTimer = null;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 2500);
}

// ---- sidebar -----------------------------------------------------------------------------------------
const phone = window.matchMedia("(max-width: 760px)");
function setSidebar(open) {
  document.body.classList.toggle("sidebar-closed", !open);
  $("sidebar-toggle").setAttribute("aria-expanded", String(open));
}
function closeSidebarOnPhone() { if (phone.matches) setSidebar(false); }
$("sidebar-toggle").addEventListener("click", () => setSidebar(document.body.classList.contains("sidebar-closed")));

// ---- help and keyboard -------------------------------------------------------------------------------
$("help-open").addEventListener("click", () => $("help").showModal());

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "Escape") {
    if (document.activeElement === $("filter") || document.activeElement === $("file-filter")) {
      document.activeElement.blur();
      $("scroller").focus();
    }
    return;
  }
  if (typing(e.target) || $("help").open) return;
  const actions = {
    "/": () => { $("filter").focus(); $("filter").select(); },
    "?": () => $("help").showModal(),
    p: togglePause,
    " ": togglePause,
    f: () => view.follow(),
    End: () => view.follow(),
    c: () => view.clear(),
    w: () => setWrap(!state.wrap),
    t: () => $("theme").click(),
    l: copyLink,
    b: () => $("sidebar-toggle").click(),
    "+": () => setFontSize(fontSize() + 1),
    "=": () => setFontSize(fontSize() + 1),
    "-": () => setFontSize(fontSize() - 1),
    0: () => setFontSize(FONT_DEFAULT),
    1: () => toggleLevel("error"),
    2: () => toggleLevel("warn"),
    3: () => toggleLevel("info"),
    4: () => toggleLevel("debug"),
  };
  const action = actions[e.key];
  if (!action) return;
  // Space on a focused button presses it; do not also toggle pause.
  if (e.key === " " && e.target instanceof HTMLButtonElement) return;
  e.preventDefault();
  action();
});

// ---- start ---------------------------------------------------------------------------------------------
async function loadHealth() {
  try {
    const r = await fetch("healthz", { cache: "no-store" });
    const h = await r.json();
    if (Number(h.heartbeat) > 0) settings.heartbeat = Number(h.heartbeat);
    if (Number(h.retry_ms) > 0) settings.retryMs = Number(h.retry_ms);
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

setTheme(theme());
setFontSize(fontSize());
if (phone.matches) setSidebar(false);
loadHash();
const auth = await session.check();
if (auth.required && !auth.authenticated) {
  await loadHealth();
  session.showLogin();
} else {
  await session.enter();
}
