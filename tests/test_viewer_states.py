"""The viewer says something when it shows nothing, in a real Chromium: an empty
file, no match so far (and how far back was looked), loading, cleared, every line
hidden by the levels, a compressed file, a file that cannot be opened, no files at
all. Never a blank pane marked Live. A bad filter is told once, at the filter box,
in the reader's own terms (issue 17)."""

from __future__ import annotations

import gzip

import pytest

import browser as fixtures
from browser import save_screenshot
from conftest import append, wait_for

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

EMPTY = "#empty:not([hidden])"



def message(page) -> str:
    page.wait_for_selector(EMPTY)
    return page.inner_text("#empty")


def wait_message(page, *words: str) -> str:
    page.wait_for_function("(words) => { const e = document.getElementById('empty');"
                           " return !e.hidden && words.every(w => e.innerText.includes(w)); }", arg=list(words))
    return page.inner_text("#empty")


def test_an_empty_file_says_it_is_empty_then_shows_its_first_line(viewer, logdir):
    (logdir / "app.log").touch()
    page = viewer.open("file=app.log").page
    viewer.wait_state("live")
    assert "app.log is empty" in wait_message(page, "app.log is empty")
    save_screenshot(page, "empty-file-light")
    append(logdir / "app.log", "first")
    viewer.wait_texts(["first"])
    page.wait_for_selector("#empty", state="hidden")


def test_a_filter_with_no_match_says_how_far_back_it_looked(viewer, logdir):
    append(logdir / "app.log", *[f"alpha {i}" for i in range(40)])
    size = (logdir / "app.log").stat().st_size
    page = viewer.open("file=app.log&q=omega").page
    text = wait_message(page, "No line matches “omega” so far")
    assert f"Searched all of app.log ({size} B)" in text
    viewer.wait_state("live")
    save_screenshot(page, "no-match-light")
    assert viewer.count() == 0
    append(logdir / "app.log", "omega arrives")
    viewer.wait_texts(["omega arrives"])
    page.wait_for_selector("#empty", state="hidden")


def test_a_filter_on_a_file_the_backlog_did_not_search_to_its_start_says_so(viewer, logdir):
    from logstream.lines import MAX_BACKLOG_SCAN

    with open(logdir / "big.log", "wb") as f:
        f.write(("x" * 1023 + "\n").encode() * (MAX_BACKLOG_SCAN // 1024 + 1024))
    page = viewer.open("file=big.log&q=needle").page
    text = wait_message(page, "No line matches “needle” so far")
    assert "Searched the last 64 MB of big.log (65 MB; older lines were not searched)" in text


def test_while_the_backlog_is_read_the_pane_says_loading(viewer, logdir):
    append(logdir / "app.log", "one", "two")
    page = viewer.page
    held = []
    page.route("**/api/stream/**", lambda route: held.append(route))
    viewer.open("file=app.log&q=two")
    wait_for(lambda: held or page.evaluate("1") and held, message="the stream request")
    assert "Loading app.log…" in wait_message(page, "Loading app.log…", "matching “two”")
    held[0].continue_()
    viewer.wait_texts(["two"])
    page.wait_for_selector("#empty", state="hidden")


def test_no_file_open_and_no_files_at_all(viewer, logdir):
    page = viewer.open().page
    assert "No log files yet" in wait_message(page, "No log files yet")
    append(logdir / "app.log", "x")
    text = wait_message(page, "No file open")
    assert "Click a file on the left" in text and "Ctrl-click" in text


def test_clear_and_level_buttons_explain_an_empty_pane(viewer, logdir):
    append(logdir / "app.log", "2026-11-30T04:25:58Z INFO one", "2026-11-30T04:25:59Z INFO two")
    page = viewer.open("file=app.log").page
    viewer.wait_count(2)
    page.keyboard.press("3")  # INFO off: nothing left to see
    text = wait_message(page, "No ERROR, WARN or DEBUG line so far")
    assert "2 lines are hidden by the level buttons (INFO off)" in text
    page.keyboard.press("3")
    page.wait_for_selector("#empty", state="hidden")
    page.keyboard.press("c")
    assert "Cleared" in wait_message(page, "Cleared")
    assert page.get_attribute("#status", "data-state") == "live"


def test_a_compressed_rotation_is_offered_for_download_not_streamed(viewer, logdir):
    append(logdir / "access.log", "current")
    with gzip.open(logdir / "access.log.1.gz", "wb") as f:
        f.write(b"old line\n")
    page = viewer.page
    streams = []
    page.on("request", lambda r: "/api/stream" in r.url and streams.append(r.url))
    viewer.open()
    page.click('#tree li.file[data-path="access.log.1.gz"] .name')
    text = wait_message(page, "access.log.1.gz is compressed")
    assert "gzip" in text
    assert page.get_attribute("#empty a[download]", "href") == "api/download/access.log.1.gz"
    assert viewer.count() == 0 and streams == []
    # Merged with a live file: that one streams, the compressed one is named in the pane.
    page.click('#tree li.file[data-path="access.log"] .name', modifiers=["Control"])
    viewer.wait_texts(["current"])
    assert "access.log.1.gz is compressed" in page.inner_text("#lines .sep-skipped")
    assert streams and "access.log.1.gz" not in streams[-1]


def test_a_file_that_cannot_be_opened_says_why(viewer, logdir):
    append(logdir / "app.log", "x")
    page = viewer.open("file=gone.log").page
    text = wait_message(page, "Cannot show gone.log")
    assert "The server said:" in text
    assert page.locator("#lines .sep-error").count() == 0


@pytest.mark.parametrize("typed,reason,at", [
    ("beta(", "missing )", 4),
    ("a)b", "unexpected )", 1),
    ("x\\q", "invalid escape sequence", 1),
    ("ab**", "bad repetition operator", 2),
])
def test_a_bad_regex_is_told_once_at_the_filter_box_with_its_position(viewer, logdir, typed, reason, at):
    append(logdir / "app.log", "alpha", "beta")
    page = viewer.open("file=app.log").page
    viewer.wait_count(2)
    page.click("#opt-regex")
    page.fill("#filter", typed)
    page.keyboard.press("Enter")
    page.wait_for_selector("#filter-error:not([hidden])")
    text = page.inner_text("#filter-error")
    assert f"Not a valid regular expression: {reason} at position {at + 1}" in text
    assert text.splitlines()[-2:] == [typed, " " * at + "^"]
    assert "(?i)" not in text and "click" not in text.lower()
    viewer.wait_state("stopped")
    assert page.inner_text("#status-text") == "Stopped"
    # The empty state is drawn 100 ms after a change (empty.js): wait for it to go, never a fixed sleep.
    page.wait_for_selector("#empty", state="hidden")
    assert page.locator("#lines .sep").count() == 0
    page.wait_for_function("() => document.getElementById('counts').textContent === '0 shown · 0 received'")
    page.fill("#filter", "beta")
    page.keyboard.press("Enter")
    viewer.wait_texts(["beta"])
    page.wait_for_selector("#filter-error", state="hidden")
    viewer.wait_state("live")

