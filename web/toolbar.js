// toolbar: the controls around the log pane. Owns the filter box and its
// options, the level toggles, wrap, font size, theme, window size, pause,
// follow, clear, the permalink button and its toast, the chips of the open
// files, the sidebar toggle and the counts in the status bar. Each control
// changes the view state (state.js) or the view; a change that needs a new
// stream is reported through onFilter / onFiles. Never opens a connection and
// never touches a line's text.

import { downloadLink } from "./files.js";
import { LEVELS, SOURCE_COLOURS } from "./render.js";
import { DEFAULT_MAX, explainPatternError, setGroup, state, writeHash } from "./state.js";

const $ = (id) => document.getElementById(id);
const FONT_DEFAULT = 13;
const THEMES = ["system", "light", "dark"];
const FILTER_DELAY_MS = 400;

function fontSize() {
  const v = Number(localStorage.getItem("logstream.font"));
  return v >= 9 && v <= 24 ? v : FONT_DEFAULT;
}

function theme() {
  const t = localStorage.getItem("logstream.theme");
  return THEMES.includes(t) ? t : "system";
}

/** Put `text` on the clipboard; false if the browser would not. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Not a secure context (plain http on a LAN address): the old way.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
    return ok;
  }
}

export class Toolbar {
  /**
   * view: the LogView. onFilter(): the filter changed (restart the stream).
   * onFiles(paths): the reader closed a file from its chip.
   */
  constructor({ view, onFilter, onFiles }) {
    this.view = view;
    this.onFilter = onFilter;
    this.onFiles = onFiles;
    this.countsScheduled = false;
    this.filterTimer = null;
    this.toastTimer = null;
    this.phone = window.matchMedia("(max-width: 760px)");
    this.touch = window.matchMedia("(pointer: coarse)");

    $("filter-clear").addEventListener("click", () => {
      $("filter").value = "";
      this._showClear();
      this._applyFilterText();
      $("filter").focus();
    });
    $("filter").addEventListener("input", () => {
      this._showClear();
      clearTimeout(this.filterTimer);
      this.filterTimer = setTimeout(() => this._applyFilterText(), FILTER_DELAY_MS);
    });
    $("filter-form").addEventListener("submit", (e) => { e.preventDefault(); this._applyFilterText(); });
    for (const [id, key] of [["opt-regex", "regex"], ["opt-case", "caseSensitive"], ["opt-invert", "invert"]]) {
      $(id).addEventListener("click", () => {
        state.filter[key] = !state.filter[key];
        this.sync();
        writeHash();
        if (state.filter.text) this.onFilter();
      });
    }
    for (const btn of document.querySelectorAll(".lvl")) {
      btn.addEventListener("click", () => this.toggleLevel(btn.dataset.level));
    }
    $("wrap").addEventListener("click", () => this.toggleWrap());
    $("group").addEventListener("click", () => this.toggleGroup());
    $("font-up").addEventListener("click", () => this.stepFontSize(1));
    $("font-down").addEventListener("click", () => this.stepFontSize(-1));
    $("theme").addEventListener("click", () => this.setTheme(THEMES[(THEMES.indexOf(theme()) + 1) % 3]));
    $("window-size").addEventListener("change", (e) => {
      state.max = Number(e.target.value) || DEFAULT_MAX;
      view.setMax(state.max);
      writeHash();
    });
    $("pause").addEventListener("click", () => this.togglePause());
    $("follow").addEventListener("click", () => (view.following ? view.stopFollowing() : view.follow()));
    $("jump").addEventListener("click", () => view.follow());
    $("clear").addEventListener("click", () => view.clear(true));
    $("permalink").addEventListener("click", () => this.copyLink());
    $("sidebar-toggle").addEventListener("click", () => this.setSidebar(document.body.classList.contains("sidebar-closed")));
    $("help-open").addEventListener("click", () => $("help").showModal());
  }

  /** Theme, font size and, on a phone, a closed sidebar: as the reader left them. */
  restore() {
    this.setTheme(theme());
    this.setFontSize(fontSize());
    if (this.phone.matches) this.setSidebar(false);
    // Words for the device: no "press /" where there is no keyboard.
    if (this.phone.matches || this.touch.matches) $("filter").placeholder = "Filter lines";
  }

  // ---- counts ------------------------------------------------------------------
  scheduleCounts() {
    if (this.countsScheduled) return;
    this.countsScheduled = true;
    // Toolbar counts at most ~10 times a second, never per line.
    setTimeout(() => { this.countsScheduled = false; this.renderCounts(); }, 100);
  }

  renderCounts() {
    const view = this.view;
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
    $("counts").textContent = `${view.lineCount.toLocaleString()} shown · ${view.received.toLocaleString()} received`;
  }

  // ---- open files ----------------------------------------------------------------
  /** The chips of the open files: name, download, close. */
  renderFiles() {
    const chips = state.files.map((path, i) => {
      const chip = document.createElement("span");
      chip.className = `chip c${i % SOURCE_COLOURS}`;
      chip.dataset.path = path;
      const name = document.createElement("span");
      name.className = "chip-name";
      name.textContent = path;
      name.title = path;
      const dl = downloadLink(path, "chip-btn");
      const close = document.createElement("button");
      close.type = "button";
      close.className = "chip-btn";
      close.setAttribute("aria-label", `Close ${path}`);
      close.title = "Close";
      close.textContent = "×";
      close.addEventListener("click", () => this.onFiles(state.files.filter((p) => p !== path)));
      chip.append(name, dl, close);
      return chip;
    });
    $("chips").replaceChildren(...chips);
  }

  // ---- filter ----------------------------------------------------------------------
  _applyFilterText() {
    clearTimeout(this.filterTimer);
    const text = $("filter").value;
    if (text === state.filter.text) return;
    state.filter.text = text;
    writeHash();
    this.onFilter();
  }

  /** The × of the filter box: there when it has text. */
  _showClear() {
    const has = $("filter").value !== "";
    $("filter-clear").hidden = !has;
    $("filter-form").classList.toggle("has-text", has);
  }

  focusFilter() {
    $("filter").focus();
    $("filter").select();
  }

  /**
   * The server refused the filter: say why once, here, in the reader's terms:
   * their own pattern (not the "(?i)" we added to `sent`) and where it breaks.
   */
  showFilterError(message, sent) {
    const { reason, at } = explainPatternError(message, sent, state.filter.text);
    const err = $("filter-error");
    const head = document.createElement("span");
    head.textContent = at === null ? `Not a valid regular expression: ${reason}`
      : `Not a valid regular expression: ${reason} at position ${at + 1}`;
    const pattern = document.createElement("pre");
    pattern.className = "filter-caret";
    pattern.textContent = at === null ? state.filter.text : `${state.filter.text}\n${" ".repeat(at)}^`;
    err.replaceChildren(head, pattern);
    err.hidden = false;
    $("filter").setAttribute("aria-invalid", "true");
  }

  hideFilterError() {
    $("filter-error").hidden = true;
    $("filter-error").replaceChildren();
    $("filter").removeAttribute("aria-invalid");
  }

  renderFilterState() {
    const f = state.filter;
    const parts = [];
    if (f.text) parts.push(`${f.invert ? "not matching" : "matching"} ${f.regex ? "/" + f.text + "/" : "“" + f.text + "”"}${f.caseSensitive ? " (case)" : ""}`);
    if (state.where.trim()) parts.push(`fields ${state.where.trim()}`);
    if (state.hidden.size) parts.push(`hiding ${[...state.hidden].map((l) => l.toUpperCase()).join(", ")}`);
    $("filter-state").textContent = parts.length ? `Filter: ${parts.join("; ")}` : "";
  }

  // ---- levels, wrap, font, theme ---------------------------------------------------
  toggleLevel(level) {
    if (state.hidden.has(level)) state.hidden.delete(level);
    else state.hidden.add(level);
    this.sync();
    writeHash();
    this.view.onChange(); // what is visible changed: the pane's message may too
  }

  toggleWrap() {
    state.wrap = !state.wrap;
    this.sync();
    writeHash();
  }

  /** Stack traces as one entry (the server joins them: group=1), or line by line: a new stream. */
  toggleGroup() {
    setGroup(!state.group);
    this.sync();
    this.onFilter();
  }

  setFontSize(px) {
    const v = Math.max(9, Math.min(24, px));
    localStorage.setItem("logstream.font", String(v));
    document.documentElement.style.setProperty("--log-font-size", `${v}px`);
    if (this.view.following) this.view.follow();
  }

  stepFontSize(delta) { this.setFontSize(fontSize() + delta); }

  resetFontSize() { this.setFontSize(FONT_DEFAULT); }

  setTheme(t) {
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

  /** The state was read anew (the hash): show all of it, the filter text too. */
  load() {
    $("filter").value = state.filter.text;
    this._showClear();
    this.sync();
  }

  /** Make every control show the view state. */
  sync() {
    const f = state.filter;
    if ($("filter").value !== f.text && document.activeElement !== $("filter")) $("filter").value = f.text;
    this._showClear();
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
    $("group").setAttribute("aria-pressed", String(state.group));
    $("window-size").value = String(state.max);
    this.renderFilterState();
  }

  // ---- pause, permalink, sidebar ------------------------------------------------------
  togglePause() { this.view.setPaused(!this.view.paused); }

  async copyLink() {
    writeHash();
    const ok = await copyText(location.href);
    this.toast(ok ? "Link to this view copied" : "Copy this link from the address bar");
  }

  toast(text) {
    const el = $("toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { el.hidden = true; }, 2500);
  }

  setSidebar(open) {
    document.body.classList.toggle("sidebar-closed", !open);
    $("sidebar-toggle").setAttribute("aria-expanded", String(open));
  }

  closeSidebarOnPhone() { if (this.phone.matches) this.setSidebar(false); }
}
