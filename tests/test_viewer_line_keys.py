"""A line's link by keyboard alone (issue 13), in a real Chromium against the
real server: `[`/`]` select a line (focused, marked, its "copy link" shown),
the arrows move it and Shift+arrows make a range, Tab reaches its buttons
(labelled, with a visible focus) and Enter or Space presses them, `y` copies the
link of the selected line or range, Escape leaves it; no row but the selected
one is focusable. In a merged view a line's link names its own file."""

from __future__ import annotations

import os

import browser as fixtures
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

LINES = [f"line {i:03d}" for i in range(60)]
ACTIVE = """() => { const a = document.activeElement;
    return { tag: a.tagName, text: a.closest('.ln')?.querySelector('.tx')?.textContent ?? null,
             act: a.dataset?.act ?? null, label: a.getAttribute('aria-label'), visible: a.matches(':focus-visible'),
             shown: a.getBoundingClientRect().width > 0, id: a.id }; }"""
LAST_LINK = "() => window.__logstream.lineLinks.lastLink"


def line_id(logdir, name: str, n: int) -> str:
    """The id of line ``n`` of LINES in ``name``: its inode and the offset past it (each line is 9 bytes)."""
    return f"{os.stat(logdir / name).st_ino:x}-{(n + 1) * 9}"


def copied(page, key: str) -> str:
    """Press ``key`` and return the link it copied."""
    page.evaluate("() => { window.__logstream.lineLinks.lastLink = null; }")
    page.keyboard.press(key)
    page.wait_for_function(f"() => ({LAST_LINK})()")
    return page.evaluate(LAST_LINK)


def test_a_line_and_a_range_are_linked_with_the_keyboard_only(viewer, logdir):
    append(logdir / "app.log", *LINES)
    page = viewer.open("file=app.log").page
    viewer.wait_texts(LINES)

    page.keyboard.press("[")  # the last line in view: the bottom one
    focus = page.evaluate(ACTIVE)
    assert focus["text"] == "line 059" and focus["tag"] == "DIV"
    assert page.is_visible("#lines .ln.selected .line-actions button[data-act=link]")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate(ACTIVE)["text"] == "line 057"
    assert page.evaluate("() => document.querySelectorAll('#lines [tabindex]').length") == 1, "one focusable row"
    assert copied(page, "y").endswith(f"#file=app.log&at={line_id(logdir, 'app.log', 57)}")
    assert copied(page, "Enter").endswith(f"at={line_id(logdir, 'app.log', 57)}")

    page.keyboard.press("Tab")  # into the line's bar: its "copy link"
    focus = page.evaluate(ACTIVE)
    assert (focus["act"], focus["label"], focus["visible"], focus["shown"]) == (
        "link", "Copy a link to this line", True, True)
    assert copied(page, "Enter").endswith(f"at={line_id(logdir, 'app.log', 57)}")
    assert copied(page, "Space").endswith(f"at={line_id(logdir, 'app.log', 57)}")
    assert page.get_attribute("#status", "data-state") == "live" and not page.evaluate(
        "() => window.__logstream.view.paused"), "Space on a button presses it and does not pause"

    page.keyboard.press("Shift+Tab")  # back on the line; Shift+arrows: lines 55 to 57
    page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("Shift+ArrowUp")
    assert page.evaluate("() => Array.from(document.querySelectorAll('#lines .ln.selected .tx'), e => e.textContent)") \
        == ["line 055", "line 056", "line 057"]
    want = f"#file=app.log&from={line_id(logdir, 'app.log', 55)}&to={line_id(logdir, 'app.log', 57)}"
    assert copied(page, "y").endswith(want)
    page.keyboard.press("Tab")  # the range's button comes first
    focus = page.evaluate(ACTIVE)
    assert focus["act"] == "range" and focus["visible"]
    assert page.inner_text("#lines .range-link") == "Link 3 lines"
    assert copied(page, "Enter").endswith(want)

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Escape")
    assert page.evaluate(ACTIVE)["id"] == "scroller"
    assert page.evaluate("() => document.querySelectorAll('#lines [tabindex], #lines .selected').length") == 0
    page.keyboard.press("]")  # the first line in view, going down
    assert page.evaluate(ACTIVE)["text"] is not None


def test_a_merged_view_s_line_link_names_the_line_s_file(viewer, logdir):
    append(logdir / "a.log", *LINES[:10])
    append(logdir / "b.log", *LINES[10:20])
    page = viewer.open("file=a.log&file=b.log").page
    viewer.wait_count(20)
    page.keyboard.press("[")
    text = page.evaluate(ACTIVE)["text"]
    name, n = ("a.log", int(text[5:])) if int(text[5:]) < 10 else ("b.log", int(text[5:]) - 10)
    assert copied(page, "y").endswith(f"#file={name}&at={line_id(logdir, name, n)}")


def test_a_line_drawn_plain_is_drawn_in_full_when_selected(viewer, logdir):
    append(logdir / "app.log", "start")
    viewer.open("file=app.log")
    viewer.wait_state("live")
    page = viewer.page
    append(logdir / "app.log", *[f"2026-11-30T10:00:00Z ERROR burst {i:05d}" for i in range(3000)])  # plain rows
    viewer.wait_count(3001)
    assert page.locator("#lines .ln.plain").count() > 2000
    page.keyboard.press("[")
    for _ in range(60):
        page.keyboard.press("ArrowUp")
    assert page.evaluate(ACTIVE)["text"].endswith("burst 02939")
    selected = page.locator("#lines .ln.selected")
    assert selected.count() == 1 and "plain" not in selected.get_attribute("class")
    assert selected.locator(".lvw").count() == 1, "drawn in full: its level word"
    assert page.is_visible("#lines .ln.selected .line-actions button[data-act=link]")
