"""The viewer's look back (issue 13), in a real Chromium against the real server:
scrolling to the top loads the page before the first line, across a rotation
boundary, keeps the window bounded and follows on to the live end with no gap
and no duplicate; a line link (and a range link) opens its line highlighted
with its context after the file was rotated and after the server restarted, and
a link whose bytes are gone says so; a filtered line shows its unfiltered
context in place."""

from __future__ import annotations

import os

import pytest

import browser as fixtures
import test_redis as scale_out
from browser import LINE_TEXTS, TARGETS, Viewer, save_screenshot
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer
# A redis-server, agents and web nodes (tests/test_redis.py).
redis_server = scale_out.redis_server
scale = scale_out.scale

TO_TOP = "() => { const s = document.getElementById('scroller'); s.scrollTop = 0; }"
FIRST_TEXT = "() => document.querySelector('#lines .ln > .tx')?.textContent"


def numbered(prefix: str, start: int, stop: int) -> list[str]:
    return [f"{prefix} line {i:05d}" for i in range(start, stop)]


def rotate(logdir, *lines: str) -> None:
    """logrotate's move: app.log becomes app.log.1 (app.log.1 moves on to app.log.2), a new app.log."""
    log = logdir / "app.log"
    if (logdir / "app.log.1").exists():
        os.rename(logdir / "app.log.1", logdir / "app.log.2")
    os.rename(log, logdir / "app.log.1")
    append(log, *lines)


def scroll_back_to_start(page, pages: int = 10) -> None:
    """Scroll to the top until the history's start is shown (a page may end just short of it)."""
    for _ in range(pages):
        first = page.evaluate(FIRST_TEXT)
        page.evaluate(TO_TOP)
        page.wait_for_function(f"(was) => ({FIRST_TEXT})() !== was || document.querySelector('#lines .sep-start')",
                               arg=first)
        if page.query_selector("#lines .sep-start"):
            return
    page.wait_for_selector("#lines .sep-start")


def copied_link(page, line_text: str) -> str:
    """Hover the line showing ``line_text``, click its "copy link"; the link copied."""
    line = page.locator("#lines .ln", has=page.locator(".tx", has_text=line_text)).first
    line.hover()
    line.locator(".line-actions button[data-act=link]").click()
    page.wait_for_function("(t) => document.getElementById('toast').textContent.includes('copied')"
                           " || document.getElementById('toast').textContent.includes('Copy the link')", arg=None)
    return page.evaluate("() => window.__logstream.lineLinks.lastLink")


def test_scrolling_back_crosses_the_rotation_and_follows_on_with_no_gap_and_no_duplicate(viewer, logdir):
    rotated, current = numbered("r", 0, 400), numbered("a", 0, 300)
    append(logdir / "app.log", *rotated)
    rotate(logdir, *current)
    page = viewer.open("file=app.log&max=500").page
    viewer.wait_texts(current)  # the stream's backlog: the current file

    page.evaluate(TO_TOP)  # the page before a000: the end of app.log.1
    page.wait_for_function(f"() => ({FIRST_TEXT})().startsWith('r ')")
    texts = viewer.texts()
    assert texts == (rotated + current)[-len(texts):] and len(texts) >= 499, "the lines before, each once"
    assert not page.is_visible("#history-bar"), "500 lines fit: still the live end"
    save_screenshot(page, "history-scrolled-back-light")

    scroll_back_to_start(page)  # the rest of app.log.1; the far end gives way
    texts = viewer.texts()
    assert len(texts) == 499  # 500 entries: the start's separator and 499 lines
    assert texts == (rotated + current)[:499], "one contiguous stretch of the history from its start, each line once"
    assert page.is_visible("#history-bar")
    assert page.evaluate("() => document.querySelectorAll('#lines .ln, #lines .sep').length") <= 500

    append(logdir / "app.log", *numbered("a", 300, 310))  # while detached: not shown yet
    page.click("#history-follow")
    history = rotated + current + numbered("a", 300, 310)
    viewer.wait_texts(history[-500:])  # from after a098: a099 on, the top giving way
    assert not page.is_visible("#history-bar")
    append(logdir / "app.log", "a line 00310")
    viewer.wait_texts((history + ["a line 00310"])[-500:])


def test_scrolling_back_a_filtered_view_pages_through_matching_lines_only(viewer, logdir):
    lines = [f"{'ERROR' if i % 10 == 3 else 'INFO'} event {i:04d}" for i in range(3000)]
    matches = [t for t in lines if t.startswith("ERROR")]
    append(logdir / "app.log", *lines)
    page = viewer.open("file=app.log&q=ERROR&max=100").page
    viewer.wait_texts(matches[-100:])
    scroll_back_to_start(page)  # 200 older matches, 2,000 lines back; the window keeps 100 entries
    assert viewer.texts() == matches[:99]
    assert page.is_visible("#history-bar")


def test_a_line_link_opens_its_line_after_rotation_and_after_a_restart(new_page, logserver, logdir):
    lines = numbered("a", 0, 300)
    append(logdir / "app.log", *lines)
    server = logserver(logdir, "--heartbeat", "1")
    page = Viewer(new_page(), server).open("file=app.log").page
    Viewer(page, server).wait_texts(lines)
    link = copied_link(page, "a line 00150")
    assert "#file=app.log&at=" in link

    rotate(logdir, *numbered("b", 0, 20))  # the line is now in app.log.1
    for when in ("after rotation", "after restart"):
        linked = new_page()
        linked.goto(link)
        linked.wait_for_function(f"() => ({TARGETS})().length === 1", timeout=10_000)
        assert linked.evaluate(TARGETS) == ["a line 00150"], when
        texts = linked.evaluate(LINE_TEXTS)
        i = texts.index("a line 00150")
        assert texts[i - 3:i + 4] == lines[147:154], f"its context {when}"
        assert linked.evaluate("""() => { const r = document.querySelector('#lines .ln.target').getBoundingClientRect();
            const s = document.getElementById('scroller').getBoundingClientRect();
            return r.top >= s.top && r.bottom <= s.bottom; }"""), f"the line is in view {when}"
        assert linked.is_visible("#history-bar")
        if when == "after rotation":
            save_screenshot(linked, "history-line-link-light")
            server.restart()


def test_a_range_link_highlights_every_line_of_the_range(viewer, logdir):
    lines = numbered("a", 0, 120)
    append(logdir / "app.log", *lines)
    page = viewer.open("file=app.log").page
    viewer.wait_texts(lines)
    page.evaluate("""() => {
        const all = Array.from(document.querySelectorAll('#lines .ln'));
        const find = (t) => all.find(l => l.textContent.includes(t));
        const a = find('a line 00040'), b = find('a line 00044');
        const r = document.createRange();
        r.setStart(a.querySelector('.tx').firstChild, 2);
        r.setEnd(b.querySelector('.tx').firstChild, 3);
        getSelection().removeAllRanges();
        getSelection().addRange(r);
    }""")
    button = page.locator("#lines .line-actions .range-link")
    button.wait_for()
    assert button.inner_text() == "Link 5 lines"
    button.click()
    link = page.evaluate("() => window.__logstream.lineLinks.lastLink")
    assert "&from=" in link and "&to=" in link
    page.goto(link)  # the same page: the hash changes
    page.wait_for_function(f"() => ({TARGETS})().length === 5")
    assert page.evaluate(TARGETS) == lines[40:45]


def test_a_link_whose_bytes_are_gone_says_so(viewer, logdir):
    append(logdir / "app.log", *numbered("a", 0, 50))
    page = viewer.open("file=app.log").page
    viewer.wait_texts(numbered("a", 0, 50))
    link = copied_link(page, "a line 00010")
    rotate(logdir, "b 0")
    rotate(logdir, "c 0")
    os.remove(logdir / "app.log.2")  # the linked line's file is gone from the disk
    page.goto(link)
    page.wait_for_function("() => document.querySelector('#empty:not([hidden]) .empty-title')?.textContent"
                           " === 'This line is not available any more'")
    assert "The server said:" in page.inner_text("#empty")
    assert page.is_visible("#history-bar.failed")
    save_screenshot(page, "history-link-gone-light")
    page.click("#history-live")  # the way back: the live end
    viewer.wait_texts(["c 0"])


def test_a_filtered_line_shows_its_unfiltered_context_in_place(viewer, logdir):
    lines = [f"{'ERROR' if i % 10 == 5 else 'INFO'} event {i:03d}" for i in range(60)]
    append(logdir / "app.log", *lines)
    page = viewer.open("file=app.log&q=ERROR").page
    viewer.wait_texts([t for t in lines if t.startswith("ERROR")])
    line = page.locator("#lines .ln", has=page.locator(".tx", has_text="ERROR event 025"))
    line.hover()
    line.locator(".line-actions button[data-act=context]").click()
    page.wait_for_selector("#lines .ctx .cl")
    around = page.evaluate("""() => Array.from(document.querySelectorAll('#lines .ctx'),
        b => Array.from(b.querySelectorAll('.cl .tx'), e => e.textContent))""")
    assert around == [lines[20:25], lines[26:31]]
    assert viewer.texts() == [t for t in lines if t.startswith("ERROR")], "the filtered lines are the same lines"
    assert page.inner_text("#counts").startswith("6 shown")
    save_screenshot(page, "history-context-light")
    line.hover()
    line.locator(".line-actions button[data-act=context]").click()
    page.wait_for_selector("#lines .ctx", state="hidden")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_line_actions_read_well_in_both_themes(new_page, server, logdir, scheme):
    append(logdir / "app.log", *numbered("a", 0, 30))
    page = Viewer(new_page(color_scheme=scheme), server).open("file=app.log").page
    Viewer(page, server).wait_texts(numbered("a", 0, 30))
    page.locator("#lines .ln").nth(5).hover()
    bar = page.locator("#lines .line-actions")
    assert bar.is_visible()
    box, line = bar.bounding_box(), page.locator("#lines .ln").nth(5).bounding_box()
    assert line["y"] <= box["y"] and box["y"] + box["height"] <= line["y"] + line["height"] + 1, "inside its line"
    save_screenshot(page, f"history-line-actions-{scheme}")



def test_clearing_a_pane_away_from_the_live_end_shows_what_is_written_from_then_on(viewer, logdir):
    lines = numbered("a", 0, 300)
    append(logdir / "app.log", *lines)
    page = viewer.open("file=app.log").page
    viewer.wait_texts(lines)
    link = copied_link(page, "a line 00010")
    page.goto(link)
    page.wait_for_selector("#lines .ln.target")
    assert page.is_visible("#history-bar")
    page.click("#clear")
    page.wait_for_selector("#history-bar", state="hidden")
    append(logdir / "app.log", "written after the clear")
    viewer.wait_texts(["written after the clear"])
    assert "at=" not in page.url


@pytest.mark.skipif(scale_out.REDIS_SERVER is None, reason="redis-server is not installed (./run.sh test installs it)")
def test_a_line_link_from_one_web_node_opens_on_another(new_page, scale):
    agent = scale.agent("web-1")
    lines = numbered("a", 0, 120)
    append(agent.root / "app.log", *lines)
    one, other = scale.node(), scale.node()
    page = Viewer(new_page(), one).open("file=web-1/app.log").page
    Viewer(page, one).wait_texts(lines)
    link = copied_link(page, "a line 00060")
    assert link.startswith(one.url)
    linked = new_page()
    linked.goto(other.url + link[len(one.url):])  # the same link on another node: ids are Redis entry ids
    linked.wait_for_function(f"() => ({TARGETS})().length === 1")
    assert linked.evaluate(TARGETS) == ["a line 00060"]
    texts = linked.evaluate(LINE_TEXTS)
    i = texts.index("a line 00060")
    assert texts[i - 2:i + 3] == lines[58:63]


def test_the_link_copied_note_leaves_the_jump_to_bottom_bar_visible(viewer, logdir):
    append(logdir / "app.log", *numbered("a", 0, 400))
    page = viewer.open("file=app.log").page
    viewer.wait_texts(numbered("a", 0, 400))
    page.evaluate(TO_TOP)
    page.wait_for_selector("#jump:not([hidden])")
    copied_link(page, "a line 00005")
    toast, jump = (page.locator(s).bounding_box() for s in ("#toast", "#jump"))
    assert toast["y"] + toast["height"] <= jump["y"] or jump["y"] + jump["height"] <= toast["y"], (toast, jump)
