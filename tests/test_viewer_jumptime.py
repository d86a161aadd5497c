"""The viewer's "Jump to time" (issue 13), in a real Chromium against the real
server: a time (absolute or relative) opens the file there, the first line at
or after it highlighted, and follows on to the live end with no gap and no
duplicate; what is not a time is told at the box, a file without timestamps in
the pane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import browser as fixtures
from browser import LINE_TEXTS, TARGETS, Viewer, save_screenshot
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer



def stamped(start: int, stop: int) -> list[str]:
    """Lines one second apart from 2026-11-30 04:00:00 UTC."""
    return [f"2026-11-30T04:{i // 60:02d}:{i % 60:02d}Z INFO request {i:04d} handled" for i in range(start, stop)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_jump_to_a_time_opens_the_file_there_and_follows_on_to_the_live_end(new_page, server, logdir, scheme):
    lines = stamped(0, 900)
    append(logdir / "app.log", *lines)
    page = Viewer(new_page(color_scheme=scheme), server).open("file=app.log").page
    viewer = Viewer(page, server)
    viewer.wait_texts(lines)
    page.click("#time-open")
    page.fill("#time-input", "2026-11-30 04:10")
    save_screenshot(page, f"jump-to-time-{scheme}")
    page.press("#time-input", "Enter")
    page.wait_for_function(f"() => ({TARGETS})().length === 1")
    assert page.evaluate(TARGETS) == [lines[600]]
    texts = viewer.texts()
    i = texts.index(lines[600])
    assert texts[i:] == lines[600:800], "a page from the time on"
    assert "since=2026-11-30T04%3A10%3A00" in page.url or "since=2026-11-30T04:10:00" in page.url
    save_screenshot(page, f"jump-to-time-open-{scheme}")

    append(logdir / "app.log", *stamped(900, 905))
    page.click("#history-follow")
    whole = lines + stamped(900, 905)
    page.wait_for_function(f"(last) => ({LINE_TEXTS})().at(-1) === last", arg=whole[-1])
    texts = viewer.texts()
    assert texts == whole[whole.index(texts[0]):], "on to the live end: no gap, no line twice"


def test_a_time_that_is_not_one_is_told_at_the_box_and_a_file_without_times_in_the_pane(viewer, logdir):
    append(logdir / "app.log", "no time here", "nor here")
    page = viewer.open("file=app.log").page
    viewer.wait_texts(["no time here", "nor here"])
    page.click("#time-open")
    page.fill("#time-input", "last tuesday")
    page.press("#time-input", "Enter")
    assert page.is_visible("#time-error")
    assert "is not a time" in page.inner_text("#time-error")
    page.fill("#time-input", "15m")
    page.press("#time-input", "Enter")
    page.wait_for_function("() => document.querySelector('#empty:not([hidden]) .empty-title')?.textContent"
                           " === 'app.log cannot be opened at 15m'")
    assert "timestamp" in page.inner_text("#empty")
    assert page.is_visible("#history-bar.failed")


def test_a_relative_time_opens_the_first_line_since_that_long_ago(viewer, logdir):
    now = datetime.now(UTC).replace(microsecond=0)
    lines = [f"{(now - timedelta(minutes=m)).strftime('%Y-%m-%dT%H:%M:%SZ')} INFO {m} minutes ago"
             for m in range(30, 0, -1)]
    append(logdir / "app.log", *lines)
    page = viewer.open("file=app.log").page
    viewer.wait_texts(lines)
    page.click("#time-open")
    page.fill("#time-input", "15m")
    page.press("#time-input", "Enter")
    page.wait_for_function(f"() => ({TARGETS})().length === 1")
    # 15 minutes before the server resolved it: a second or two after `now`, so the line of 15 or 14 minutes ago.
    assert page.evaluate(TARGETS)[0].endswith((" 15 minutes ago", " 14 minutes ago"))
    assert "since=15m" in page.url
