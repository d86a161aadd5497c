// shortcuts: the keyboard. Owns the map from keys to the toolbar's and the
// view's actions (the same list as the help panel, #help) and Escape leaving a
// text box for the log. Never acts while the reader types in a box, while the
// help panel is open, or on a key with Ctrl, Meta or Alt (those are the browser's).

const $ = (id) => document.getElementById(id);

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

export function bindShortcuts({ toolbar, view, lineLinks }) {
  const actions = {
    "/": () => toolbar.focusFilter(),
    "?": () => $("help").showModal(),
    p: () => toolbar.togglePause(),
    " ": () => toolbar.togglePause(),
    f: () => view.follow(),
    End: () => view.follow(),
    c: () => view.clear(true),
    w: () => toolbar.toggleWrap(),
    j: () => toolbar.toggleGroup(),
    t: () => $("theme").click(),
    l: () => toolbar.copyLink(),
    s: () => $("search-open").click(),
    g: () => $("time-open").click(),
    b: () => $("sidebar-toggle").click(),
    "[": () => lineLinks.step(-1),
    "]": () => lineLinks.step(1),
    y: () => lineLinks.copySelected(),
    "+": () => toolbar.stepFontSize(1),
    "=": () => toolbar.stepFontSize(1),
    "-": () => toolbar.stepFontSize(-1),
    0: () => toolbar.resetFontSize(),
    1: () => toolbar.toggleLevel("error"),
    2: () => toolbar.toggleLevel("warn"),
    3: () => toolbar.toggleLevel("info"),
    4: () => toolbar.toggleLevel("debug"),
  };

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      if (["filter", "where", "file-filter"].some((id) => document.activeElement === $(id))) {
        document.activeElement.blur();
        $("scroller").focus();
      }
      return;
    }
    if (typing(e.target) || $("help").open || $("look").open) return;
    const action = actions[e.key];
    if (!action) return;
    // Space on a focused button presses it; do not also toggle pause.
    if (e.key === " " && e.target instanceof HTMLButtonElement) return;
    e.preventDefault();
    action();
  });
}
