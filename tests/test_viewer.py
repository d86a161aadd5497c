"""The viewer, in a real headless Chromium against the real server: the file list
stays live, a file streams and is followed, pause and scroll-up lose nothing, a
server restart neither drops nor repeats a line, many files share one connection,
the filter runs on the server, log text is never markup, ANSI colours render, a
permalink reopens the same view, the indicator tells the truth, and 5,000 lines/s
leave the page responsive with a bounded DOM."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

import browser as fixtures
from browser import INPUT_PROBE, LINE_TEXTS, Viewer, save_screenshot
from conftest import append, free_port

# The browser fixtures, imported explicitly (tests/browser.py).
browser = fixtures.browser
new_page = fixtures.new_page


@pytest.fixture
def viewer(new_page, server):
    return Viewer(new_page(), server)


def numbered(prefix: str, start: int, stop: int) -> list[str]:
    return [f"{prefix} line {i:05d}" for i in range(start, stop)]


# ---- the file list ---------------------------------------------------------------------------

def test_file_list_shows_nested_files_with_size_and_age_and_stays_live(viewer, logdir):
    append(logdir / "app.log", "x" * 99)
    (logdir / "sub").mkdir()
    append(logdir / "sub" / "worker.log", "hello")
    page = viewer.open().page
    page.wait_for_selector('#tree li.file[data-path="sub/worker.log"]')
    app_row = page.locator('#tree li.file[data-path="app.log"]')
    assert "100 B" in app_row.locator(".meta").inner_text()
    assert "ago" in app_row.locator(".meta").inner_text()
    assert page.locator("#tree .dir-toggle").inner_text() == "sub/"

    (logdir / "sub" / "deeper").mkdir()
    append(logdir / "sub" / "deeper" / "new.log", "fresh")
    page.wait_for_selector('#tree li.file[data-path="sub/deeper/new.log"]')
    (logdir / "app.log").unlink()
    page.wait_for_selector('#tree li.file[data-path="app.log"]', state="detached")
    assert page.inner_text("#file-count") == "2 files"

    page.fill("#file-filter", "NEW")
    page.wait_for_selector('#tree li.file[data-path="sub/worker.log"]', state="detached")
    assert page.locator("#tree li.file").count() == 1
    assert page.inner_text("#file-count") == "1 of 2 files"


def test_a_file_whose_name_is_not_utf8_is_listed_streamed_and_linked(viewer, logdir):
    # Issue #12: such a name made the sidebar never load, for anyone (see test_files.py).
    append(logdir / "app.log", "x")
    (logdir / os.fsdecode(b"caf\xe9.log")).write_bytes(b"from caf\xe9\n")
    (logdir / "new\nline.log").write_bytes(b"newline\n")
    page = viewer.open().page
    page.wait_for_selector('#tree li.file[data-path="new%0Aline.log"]')
    page.click('#tree li.file[data-path="caf%E9.log"] .name')
    viewer.wait_texts(["from caf\ufffd"])
    assert page.get_attribute("#chips .chip a[download]", "href") == "api/download/caf%25E9.log"


def test_clicking_a_file_shows_its_last_lines_then_follows_new_ones(viewer, logdir):
    log = logdir / "app.log"
    append(log, *numbered("a", 0, 50))
    page = viewer.open().page
    page.click('#tree li.file[data-path="app.log"] .name')
    viewer.wait_texts(numbered("a", 0, 50))
    assert "file=app.log" in page.url
    viewer.wait_state("live")
    for start in range(50, 250, 40):
        append(log, *numbered("a", start, start + 40))
    viewer.wait_texts(numbered("a", 0, 250))
    page.wait_for_function("() => { const s = document.getElementById('scroller');"
                           " return s.scrollHeight - s.scrollTop - s.clientHeight < 24; }")
    assert page.get_attribute("#follow", "aria-pressed") == "true"


def test_scrolling_up_stops_following_and_the_bar_counts_new_lines_until_jump(viewer, logdir):
    log = logdir / "app.log"
    append(log, *numbered("a", 0, 300))
    page = viewer.open("file=app.log").page
    viewer.wait_count(300)
    page.hover("#scroller")
    page.mouse.wheel(0, -3000)
    page.wait_for_function("() => document.getElementById('follow').getAttribute('aria-pressed') === 'false'")
    top = page.evaluate("document.getElementById('scroller').scrollTop")
    append(log, *numbered("b", 0, 25))
    page.wait_for_function("() => document.getElementById('jump').dataset.count === '25'")
    assert page.is_visible("#jump")
    assert "25 new lines" in page.inner_text("#jump")
    # Not following: where the reader is stays put.
    assert page.evaluate("document.getElementById('scroller').scrollTop") == top
    page.click("#jump")
    viewer.wait_texts(numbered("a", 0, 300) + numbered("b", 0, 25))
    page.wait_for_selector("#jump", state="hidden")
    page.wait_for_function("() => document.getElementById('follow').getAttribute('aria-pressed') === 'true'")
    append(log, "after jump")
    viewer.wait_count(326)
    page.wait_for_function("() => { const s = document.getElementById('scroller');"
                           " return s.scrollHeight - s.scrollTop - s.clientHeight < 24; }")


def test_selecting_text_stops_following_so_the_selection_stays(viewer, logdir):
    log = logdir / "app.log"
    append(log, *numbered("a", 0, 100))
    page = viewer.open("file=app.log").page
    viewer.wait_count(100)
    page.dblclick("#lines .ln:nth-child(95) .tx")
    page.wait_for_function("() => document.getElementById('follow').getAttribute('aria-pressed') === 'false'")
    append(log, *numbered("b", 0, 10))
    page.wait_for_function("() => document.getElementById('jump').dataset.count === '10'")
    assert page.evaluate("""() => { const s = document.getSelection();
        return !s.isCollapsed && document.getElementById('lines').contains(s.anchorNode); }""")


def test_pause_keeps_every_arriving_line_and_shows_them_all_on_resume(viewer, logdir):
    log = logdir / "app.log"
    append(log, *numbered("a", 0, 10))
    page = viewer.open("file=app.log").page
    viewer.wait_texts(numbered("a", 0, 10))
    page.keyboard.press("p")
    page.wait_for_function("() => document.getElementById('pause').getAttribute('aria-pressed') === 'true'")
    for start in range(0, 2000, 250):
        append(log, *numbered("b", start, start + 250))
    page.wait_for_function("() => document.getElementById('pause-count').textContent === '2,000'")
    assert viewer.texts() == numbered("a", 0, 10), "a paused view must not change"
    assert "Resume" in page.inner_text("#pause")
    page.click("#pause")
    viewer.wait_texts(numbered("a", 0, 10) + numbered("b", 0, 2000))
    page.wait_for_selector("#pause-count", state="hidden")
    assert page.get_attribute("#pause", "aria-pressed") == "false"


# ---- reconnection ---------------------------------------------------------------------------------

@pytest.mark.parametrize("merged", [False, True], ids=["one-file", "merged"])
def test_reconnect_after_server_restart_shows_every_line_once(new_page, logserver, logdir, merged):
    log, other = logdir / "app.log", logdir / "other.log"
    append(log, *numbered("a", 0, 100))
    append(other, "other 0")
    server = logserver(logdir, "--heartbeat", "1", port=free_port())
    port = server.port
    viewer = Viewer(new_page(), server).open("file=app.log&file=other.log" if merged else "file=app.log")
    shown = numbered("a", 0, 100) + (["other 0"] if merged else [])

    def wait_for_all(expected, timeout=10):
        if merged:  # two files interleave as they were written; compare as sets, and count
            viewer.page.wait_for_function(f"(n) => ({LINE_TEXTS})().length >= n", arg=len(expected),
                                          timeout=timeout * 1000)
            texts = viewer.texts()
            assert sorted(texts) == sorted(expected), "a merged line is missing or repeated"
            assert [t for t in texts if t.startswith(("a ", "b ", "c "))] == [t for t in expected
                                                                               if t.startswith(("a ", "b ", "c "))]
        else:
            viewer.wait_texts(expected, timeout)

    wait_for_all(shown)
    viewer.wait_state("live")

    server.stop()
    viewer.wait_state("reconnecting")
    viewer.page.wait_for_function("() => /attempt \\d+/.test(document.getElementById('status-text').textContent)")
    append(log, *numbered("b", 0, 50))  # written while the server is down
    append(other, "other 1")
    server.start()
    assert server.port == port
    viewer.wait_state("live", timeout=20)
    append(log, *numbered("c", 0, 50))
    shown += numbered("b", 0, 50) + (["other 1"] if merged else []) + numbered("c", 0, 50)
    wait_for_all(shown, timeout=15)
    assert viewer.page.locator("#lines .sep-reset").count() == 0


def test_rotation_truncation_and_deletion_show_inline_separators(viewer, logdir):
    log = logdir / "app.log"
    append(log, "before rotation")
    page = viewer.open("file=app.log").page
    viewer.wait_texts(["before rotation"])
    viewer.wait_state("live")
    os.rename(log, logdir / "app.log.1")
    append(log, "in the new file")
    page.wait_for_selector("#lines .sep-rotate")
    viewer.wait_texts(["before rotation", "in the new file"])
    with open(log, "r+b") as f:
        f.truncate(0)
    # Appending before the server saw the file shrink could hide the truncation
    # (the file would not be smaller than our offset): wait for the notice first.
    page.wait_for_selector("#lines .sep-truncate")
    append(log, "after truncation")
    viewer.wait_texts(["before rotation", "in the new file", "after truncation"])
    # The counts count log lines, not the notices between them (issue 17).
    page.wait_for_function("() => document.getElementById('counts').textContent === '3 shown · 3 received'")
    log.unlink()
    page.wait_for_selector("#lines .sep-deleted")
    assert "deleted" in page.inner_text("#lines .sep-deleted")


@pytest.mark.parametrize("files", ["file=app.log", "file=app.log&file=other.log"])
def test_lines_after_a_truncation_show_though_their_ids_were_seen_before(viewer, logdir, files):
    # A truncated file keeps its inode, so its new lines reuse the ids (inode and
    # offset) of lines shown before: lines of one length land exactly on them.
    # The viewer's guard against repeats dropped them all.
    log = logdir / "app.log"
    append(log, *[f"old line {n:02d}" for n in range(6)])
    append(logdir / "other.log", "other file")
    page = viewer.open(files).page
    viewer.wait_count(7 if "other" in files else 6)
    viewer.wait_state("live")
    with open(log, "r+b") as f:
        f.truncate(0)
    page.wait_for_selector("#lines .sep-truncate")
    append(log, *[f"new line {n:02d}" for n in range(6)])  # the same lengths: the same ids
    page.wait_for_function("""() => [...document.querySelectorAll('#lines .ln')]
        .filter((el) => el.textContent.includes('new line')).length === 6""", timeout=10_000)


def test_a_backlog_that_stopped_looking_back_says_so_in_the_pane(viewer, logdir):
    # Never a blank pane marked Live when most of the file was not searched.
    from logstream.lines import MAX_BACKLOG_SCAN

    with open(logdir / "big.log", "wb") as f:
        f.write(b"needle at the start\n")
        f.write(("x" * 1023 + "\n").encode() * (MAX_BACKLOG_SCAN // 1024 + 2048))
    page = viewer.open("file=big.log&q=needle").page
    page.wait_for_selector("#lines .sep-backlog")
    text = page.inner_text("#lines .sep-backlog")
    assert "found 0 of" in text and "64 MiB" in text and "not searched" in text


# ---- merged view -----------------------------------------------------------------------------------

def test_merged_view_labels_each_line_by_file_over_one_connection(viewer, logdir):
    (logdir / "sub").mkdir()
    append(logdir / "a.log", "alpha 1")
    append(logdir / "sub" / "b.log", "beta 1")
    page = viewer.page
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    viewer.open()
    page.click('#tree li.file[data-path="a.log"] .name')
    viewer.wait_texts(["alpha 1"])
    page.click('#tree li.file[data-path="sub/b.log"] .name', modifiers=["Control"])
    viewer.wait_count(2)
    append(logdir / "sub" / "b.log", "beta 2")
    append(logdir / "a.log", "alpha 2")
    viewer.wait_count(4)
    labelled = page.evaluate("""() => Array.from(document.querySelectorAll('#lines .ln'),
        l => [l.querySelector('.src').title, l.querySelector('.tx').textContent])""")
    assert sorted(labelled) == [["a.log", "alpha 1"], ["a.log", "alpha 2"], ["sub/b.log", "beta 1"],
                                ["sub/b.log", "beta 2"]]
    assert page.locator("#chips .chip").count() == 2
    streams = [u for u in requests if "/api/stream" in u]
    assert len(streams) == 2, streams  # a.log alone, then one merged stream for both
    assert "path=a.log&path=sub%2Fb.log" in streams[-1]
    assert len([u for u in requests if "/api/files/events" in u]) == 1
    # Only one stream is open at a time: the first was closed when the merge opened.
    assert page.evaluate("window.__logstream.stream.opens") == 1


def test_hidden_tab_gives_back_its_file_list_connection(viewer, logdir):
    append(logdir / "a.log", "x")
    page = viewer.open().page
    page.wait_for_selector('#tree li.file[data-path="a.log"]')
    set_hidden = """(hidden) => { Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
                                   document.dispatchEvent(new Event('visibilitychange')); }"""
    page.evaluate(set_hidden, True)
    assert page.evaluate("window.__logstream.filesOpen") is False
    append(logdir / "b.log", "y")
    page.evaluate(set_hidden, False)
    # The fresh snapshot brings what happened while hidden.
    page.wait_for_selector('#tree li.file[data-path="b.log"]')
    assert page.evaluate("window.__logstream.filesOpen") is True
    assert page.evaluate("window.__logstream.filesStreams") == 2


def test_hidden_tab_gives_back_its_log_stream_and_resumes_without_loss(viewer, logdir):
    log = logdir / "app.log"
    append(log, *numbered("a", 0, 10))
    page = viewer.open("file=app.log").page
    viewer.wait_texts(numbered("a", 0, 10))
    set_hidden = """(hidden) => { Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
                                   document.dispatchEvent(new Event('visibilitychange')); }"""
    page.evaluate("window.__logstream.hiddenGraceMs = 0")
    page.evaluate(set_hidden, True)
    page.wait_for_function("() => window.__logstream.stream.suspended && window.__logstream.stream.conn === null")
    append(log, *numbered("b", 0, 50))  # written while the tab holds no connection
    page.evaluate(set_hidden, False)
    viewer.wait_texts(numbered("a", 0, 10) + numbered("b", 0, 50))
    append(log, "after")
    viewer.wait_texts(numbered("a", 0, 10) + numbered("b", 0, 50) + ["after"])


# ---- filter and levels ---------------------------------------------------------------------------------

def test_filter_runs_on_the_server_highlights_matches_and_inverts(viewer, logdir):
    log = logdir / "app.log"
    append(log, *[f"{'beta' if i % 3 == 0 else 'alpha'} {i}" for i in range(30)])
    page = viewer.open("file=app.log").page
    viewer.wait_count(30)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "filter"
    page.keyboard.type("BETA")
    page.keyboard.press("Enter")
    viewer.wait_texts([f"beta {i}" for i in range(0, 30, 3)])
    assert "filter=%28%3Fi%29BETA" in page.evaluate("window.__logstream.stream.url('')")
    assert page.locator("#lines mark").count() == 10
    assert page.inner_text("#lines .ln mark") == "beta"
    append(log, "alpha 30", "beta 30", "gamma 31")
    viewer.wait_texts([f"beta {i}" for i in range(0, 30, 3)] + ["beta 30"])

    page.click("#opt-invert")
    viewer.wait_texts([f"alpha {i}" for i in range(30) if i % 3] + ["alpha 30", "gamma 31"])
    assert page.locator("#lines mark").count() == 0
    assert "invert=1" in page.url

    # A bad regular expression is reported, not retried forever.
    page.click("#opt-invert")
    page.click("#opt-regex")
    page.fill("#filter", "beta(")
    page.keyboard.press("Enter")
    page.wait_for_selector("#filter-error:not([hidden])")
    assert "regular expression" in page.inner_text("#filter-error")
    # Told once, at the filter box (issue 17): the pill only says it stopped, the pane adds nothing.
    assert viewer.wait_state("stopped") == "stopped"
    assert page.locator("#lines .sep-error").count() == 0


def test_level_toggles_hide_and_show_lines_of_that_level(viewer, logdir):
    append(logdir / "app.log",
           "2026-11-28T10:00:00Z ERROR boom",
           "  at continuation of the error",
           "2026-11-28T10:00:01Z WARN careful",
           "2026-11-28T10:00:02Z INFO fine",
           'level=debug msg="details"',
           '{"level":"info","msg":"json"}')
    page = viewer.open("file=app.log").page
    viewer.wait_count(6)
    visible = "() => Array.from(document.querySelectorAll('#lines .ln')).filter(l => l.offsetParent).length"
    levels = page.evaluate("() => Array.from(document.querySelectorAll('#lines .ln'), l => l.className)")
    assert levels == ["ln lv-error", "ln lv-error", "ln lv-warn", "ln lv-info", "ln lv-debug", "ln lv-info"]
    page.click('.lvl[data-level="info"]')
    page.wait_for_function(f"() => ({visible})() === 4")
    page.keyboard.press("1")  # ERROR off too
    page.wait_for_function(f"() => ({visible})() === 2")
    assert "hide=" in page.url
    page.keyboard.press("1")
    page.click('.lvl[data-level="info"]')
    page.wait_for_function(f"() => ({visible})() === 6")


# ---- content safety and rendering ------------------------------------------------------------------------

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>window.__pwned = 1</script>",
    '<a href="javascript:alert(1)">click</a> &amp; &lt;b&gt;',
    '\x1b[38;2;1;2;3" onmouseover="alert(1)mstyled',
    "\x1b]8;;javascript:alert(1)\x07link\x1b]8;;\x07 text",
]


def test_hostile_lines_are_shown_as_text_never_markup(viewer, logdir):
    append(logdir / "app.log", *HOSTILE)
    page = viewer.page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    viewer.open("file=app.log")
    viewer.wait_count(len(HOSTILE))
    texts = viewer.texts()
    assert texts[:3] == HOSTILE[:3]
    # An unknown CSI sequence is removed the way a terminal would: up to its final byte.
    assert texts[3] == 'nmouseover="alert(1)mstyled'
    assert texts[4] == "link text"
    assert page.evaluate("document.querySelectorAll('#lines img, #lines script, #lines a, #lines [onerror],"
                         " #lines [onmouseover]').length") == 0
    assert page.evaluate("window.__pwned") is None
    page.hover("#lines .ln:nth-child(4)")
    assert dialogs == []


ANSI_CASES = [
    ("\x1b[31mred\x1b[0m plain", "red plain", "red", {"className": "f1"}),
    ("\x1b[1;32mbold green\x1b[22;39m", "bold green", "bold green", {"className": "a-b f2"}),
    ("\x1b[38;5;208morange\x1b[0m", "orange", "orange", {"color": "rgb(255, 135, 0)"}),
    ("\x1b[38;2;12;34;56mtrue\x1b[m", "true", "true", {"color": "rgb(12, 34, 56)"}),
    ("\x1b[48;2;200;10;20mbg\x1b[49m", "bg", "bg", {"backgroundColor": "rgb(200, 10, 20)"}),
    ("\x1b[44;97mwhite on blue\x1b[0m", "white on blue", "white on blue", {"className": "f15 g4"}),
    ("\x1b[2J\x1b[Hcleared\x1b[K \x1b]0;title\x07ok\x1b(B", "cleared ok", None, {}),
    ("bell\x07 and nul\x00", "bell\u2407 and nul\u2400", None, {}),
]


def test_ansi_sgr_colours_render_and_other_escapes_are_removed(viewer, logdir):
    append(logdir / "app.log", *[raw for raw, *_ in ANSI_CASES])
    page = viewer.open("file=app.log").page
    viewer.wait_count(len(ANSI_CASES))
    assert viewer.texts() == [text for _, text, *_ in ANSI_CASES]
    for i, (_, _, styled, expect) in enumerate(ANSI_CASES):
        if styled is None:
            assert "\x1b" not in page.inner_text(f"#lines .ln:nth-child({i + 1})")
            continue
        got = page.evaluate("""([i, styled]) => {
            const line = document.querySelectorAll('#lines .ln')[i];
            const span = Array.from(line.querySelectorAll('.tx span')).find(s => s.textContent === styled);
            return span && {className: span.className, color: span.style.color,
                            backgroundColor: span.style.backgroundColor};
        }""", [i, styled])
        assert got is not None, f"no span for {styled!r}"
        for key, value in expect.items():
            assert got[key] == value, (styled, got)
    # 16-colour classes follow the theme: red is a real colour in both themes.
    red = page.evaluate("getComputedStyle(document.querySelector('#lines .f1')).color")
    assert red.startswith("rgb(") and red != page.evaluate("getComputedStyle(document.body).color")


# (raw line, visible text) for web/ansi.js's parseAnsi, run in the page itself.
ANSI_TABLE = [
    ("plain", "plain"),
    ("\x1b[0m", ""),
    ("a\x1b[1mb\x1b[22mc", "abc"),
    ("\x1b[38;5;196mx\x1b[39m", "x"),
    ("\x1b[38:2:1:2:3my", "y"),  # colon form
    ("\x1b[38;2;999;0;0mbad", "bad"),  # out of range: ignored, text kept
    ("\x1b[?25l\x1b[?25hcursor", "cursor"),  # private modes
    ("\x1b[1A\x1b[2K\x1b[Gprogress", "progress"),
    ("\x1b]0;window title\x1b\\after", "after"),  # OSC ended by ST
    ("\x1bPq#0;2;0;0;0\x1b\\sixel gone", "sixel gone"),  # DCS
    ("\x1b7saved\x1b8", "saved"),
    ("\u009b31mC1 CSI", "C1 CSI"),
    ("tab\tkept", "tab\tkept"),
    ("\x1b[31", "31"),  # a cut-off sequence at the end: the escape goes, the text stays
    ("null\x00byte\x7f", "null\u2400byte\u2421"),
    ("\x1b", ""),  # a lone escape is removed
]

LEVEL_TABLE = [
    ("2026-11-28 10:00:00,123 ERROR [main] boom", "error"),
    ("2026-11-28T10:00:00Z WARNING disk 91% full", "warn"),
    ('{"ts":1,"level":"warn","msg":"x"}', "warn"),
    ("time=... level=debug msg=...", "debug"),
    ("[error] client denied by server configuration", "error"),
    ("<E> FATAL: out of memory", "error"),
    ("I am INFOrmed", None),
    ("GET /index.html 200", None),
    ("2026-11-28 10:00:00 NOTICE started", "info"),
    ("TRACE entering", "debug"),
]


def test_ansi_parser_and_level_detection_tables(viewer, logdir):
    append(logdir / "app.log", "x")
    page = viewer.open().page
    got = page.evaluate("""async ([ansi, levels]) => {
        const { parseAnsi } = await import('./ansi.js');
        const { detectLevel } = await import('./detect.js');
        return [ansi.map(([raw]) => parseAnsi(raw).text),
                levels.map(([text]) => (detectLevel(text) || {}).level || null)];
    }""", [ANSI_TABLE, LEVEL_TABLE])
    assert list(zip([r for r, _ in ANSI_TABLE], got[0], strict=True)) == [(r, t) for r, t in ANSI_TABLE]
    assert list(zip([t for t, _ in LEVEL_TABLE], got[1], strict=True)) == LEVEL_TABLE


# ---- permalink, keyboard, help ------------------------------------------------------------------------------

def test_permalink_reopens_the_same_view(new_page, server, logdir):
    append(logdir / "a.log", "error one", "info two", "error three")
    append(logdir / "b.log", "error four")
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    viewer = Viewer(page, server).open("file=a.log&file=b.log")
    viewer.wait_count(4)
    page.fill("#filter", "error")
    page.keyboard.press("Enter")
    page.click("#opt-case")
    page.click('.lvl[data-level="debug"]')
    page.keyboard.press("Escape")
    page.keyboard.press("w")
    page.select_option("#window-size", "5000")
    viewer.wait_count(3)
    page.click("#permalink")
    page.wait_for_selector("#toast:not([hidden])")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.url
    assert link.startswith(server.url + "/#")

    other = Viewer(new_page(), server)
    other.page.goto(link)
    other.wait_count(3)
    p = other.page
    assert p.input_value("#filter") == "error"
    assert p.get_attribute("#opt-case", "aria-pressed") == "true"
    assert p.get_attribute("#opt-regex", "aria-pressed") == "false"
    assert p.get_attribute('.lvl[data-level="debug"]', "aria-pressed") == "false"
    assert p.get_attribute("#wrap", "aria-pressed") == "true"
    assert p.input_value("#window-size") == "5000"
    assert [c.get_attribute("data-path") for c in p.locator("#chips .chip").all()] == ["a.log", "b.log"]
    assert sorted(other.texts()) == ["error four", "error one", "error three"]


def test_keyboard_shortcuts_and_the_help_panel(viewer, logdir):
    append(logdir / "app.log", *numbered("a", 0, 20))
    page = viewer.open("file=app.log").page
    viewer.wait_count(20)
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    help_text = page.inner_text("#help")
    for words in ["Pause", "Follow", "filter", "Clear", "Wrap"]:
        assert words in help_text
    page.keyboard.press("Escape")
    page.wait_for_selector("#help:not([open])", state="attached")
    page.keyboard.press("w")
    page.wait_for_selector("#lines.wrap")
    page.keyboard.press("c")
    page.wait_for_function("() => document.querySelectorAll('#lines .ln').length === 0")
    append(logdir / "app.log", "after clear")
    viewer.wait_texts(["after clear"])
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "filter"
    page.keyboard.type("pp")  # typing in the filter is not a shortcut
    assert page.get_attribute("#pause", "aria-pressed") == "false"


def test_download_link_points_at_the_raw_file(viewer, logdir):
    append(logdir / "app.log", "one", "two")
    page = viewer.open("file=app.log").page
    viewer.wait_count(2)
    href = page.get_attribute('#chips .chip a[download]', "href")
    assert href == "api/download/app.log"
    with page.expect_download() as info:
        page.click('#chips .chip a[download]')
    assert info.value.suggested_filename == "app.log"
    assert Path(info.value.path()).read_bytes() == b"one\ntwo\n"


def test_a_token_protected_server_asks_to_sign_in_then_streams(new_page, logserver, logdir):
    append(logdir / "app.log", "secret line")
    server = logserver(logdir, "--token", "correct-horse-battery")
    page = new_page()
    viewer = Viewer(page, server).open("file=app.log")
    page.wait_for_selector("#login:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "token"
    assert viewer.count() == 0
    page.fill("#token", "wrong-token-value")
    page.keyboard.press("Enter")
    page.wait_for_selector("#login-error:not([hidden])")
    page.fill("#token", "correct-horse-battery")
    page.keyboard.press("Enter")
    page.wait_for_selector("#login", state="hidden")
    viewer.wait_texts(["secret line"])
    page.wait_for_selector('#tree li.file[data-path="app.log"]')
    # The session cookie outlives a reload; the token is not kept by the page.
    page.reload()
    viewer.wait_texts(["secret line"])
    assert page.is_hidden("#login")
    assert "correct-horse" not in page.evaluate("JSON.stringify(localStorage) + location.href + document.cookie")
    page.click("#logout")
    page.wait_for_selector("#login:not([hidden])")


def test_the_viewer_works_under_a_base_path(new_page, logserver, logdir):
    append(logdir / "app.log", "behind a proxy")
    server = logserver(logdir, "--base-path", "/logs")
    page = new_page()
    page.goto(f"{server.url}/logs#file=app.log")  # redirected to /logs/
    Viewer(page, server).wait_texts(["behind a proxy"])
    assert page.url.startswith(f"{server.url}/logs/")
    page.wait_for_selector('#tree li.file[data-path="app.log"]')
    assert page.get_attribute('#chips a[download]', "href") == "api/download/app.log"


# ---- connection state ----------------------------------------------------------------------------------------

def test_status_indicator_shows_live_stale_reconnecting_and_offline(new_page, logserver, logdir):
    append(logdir / "app.log", "x")
    server = logserver(logdir, "--heartbeat", "1", port=free_port())
    page = new_page()
    viewer = Viewer(page, server).open("file=app.log")
    viewer.wait_state("live")
    assert "Live" in viewer.status_text()
    page.wait_for_function("() => /s ago|just now/.test(document.getElementById('status-age').textContent)")

    # Frozen server: the connection stays open but no heartbeat comes: stale after 2 x 1 s.
    server.proc.send_signal(signal.SIGSTOP)
    try:
        viewer.wait_state("stale", timeout=8)
    finally:
        server.proc.send_signal(signal.SIGCONT)
    viewer.wait_state("live", timeout=8)

    server.stop()
    viewer.wait_state("reconnecting")
    page.wait_for_function("() => /Reconnecting \\(attempt \\d+, (next try in \\d+s|trying…)\\)/"
                           ".test(document.getElementById('status-text').textContent)")
    page.context.set_offline(True)
    viewer.wait_state("offline", timeout=15)
    assert "Offline" in viewer.status_text()
    server.start()
    page.context.set_offline(False)  # the browser's "online" event retries at once
    viewer.wait_state("live", timeout=15)


# ---- speed -----------------------------------------------------------------------------------------------------

class Writer(threading.Thread):
    """Appends numbered lines at ``rate`` per second in 10 ms batches."""

    def __init__(self, path, rate: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.path, self.rate, self.seconds = path, rate, seconds
        self.written = 0
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self._write()
        finally:
            self.done.set()

    def _write(self) -> None:
        start = time.monotonic()
        total = int(self.rate * self.seconds)
        with open(self.path, "ab", buffering=0) as f:
            while self.written < total:
                due = min(total, int((time.monotonic() - start) * self.rate) + 1)
                if due > self.written:
                    f.write(b"".join(b"%s INFO load line %07d \x1b[32mok\x1b[0m payload=abcdefghijklmnop\n"
                                     % (time.strftime("%H:%M:%S").encode(), i) for i in range(self.written, due)))
                    self.written = due
                time.sleep(0.01)


LOAD_SECONDS = float(os.environ.get("VIEWER_LOAD_SECONDS", "10"))


def test_5000_lines_per_second_keep_the_page_responsive_and_the_dom_bounded(new_page, server, logdir):
    log = logdir / "load.log"
    append(log, "start")
    page = new_page()
    viewer = Viewer(page, server).open("file=load.log")
    viewer.wait_texts(["start"])
    viewer.wait_state("live")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.evaluate(INPUT_PROBE)

    def memory(collect: bool) -> dict:
        if collect:  # a full GC is a long task of its own: only once the load is over
            cdp.send("HeapProfiler.collectGarbage")
        return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

    writer = Writer(log, 5000, LOAD_SECONDS)
    writer.start()
    samples = []
    # Until the writer is done, probe five times a second: a real key press (the
    # listener above times its delivery) and the size of the DOM.
    while not writer.done.wait(0.2):
        page.keyboard.press("Shift")
        count = viewer.count()
        assert count <= 10000, f"DOM holds {count} lines"
        if writer.written > 20000 and len(samples) < 1:
            samples.append(memory(collect=False))
    writer.join()
    total = writer.written + 1
    page.wait_for_function("(n) => window.__logstream.view.received === n", arg=total, timeout=30_000)
    last_line = "(t) => document.querySelector('#lines > :last-child > :last-child').textContent.includes(t)"
    page.wait_for_function(last_line, arg=f"load line {writer.written - 1:07d}", timeout=10_000)
    samples.append(memory(collect=True))
    assert viewer.count() == 10000
    texts = viewer.texts()
    assert len(set(texts)) == len(texts), "a line is shown twice"
    last = [int(t.split("load line ")[1][:7]) for t in texts]
    assert last == list(range(writer.written - 10000, writer.written)), "the window is not the last 10,000 lines"
    latencies = sorted(page.evaluate("window.__lat"))
    assert len(latencies) >= LOAD_SECONDS
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"\nload: {total} lines; input latency p50 {latencies[len(latencies) // 2]:.1f} ms, p95 {p95:.1f} ms, "
          f"max {latencies[-1]:.1f} ms; longest task {page.evaluate('window.__longest'):.0f} ms; "
          f"JS heap {samples[0]['JSHeapUsedSize'] / 1e6:.1f} MB midway -> {samples[-1]['JSHeapUsedSize'] / 1e6:.1f} MB "
          f"at the end; DOM nodes {samples[0]['Nodes']:.0f} -> {samples[-1]['Nodes']:.0f}")
    assert p95 < 100, f"input events waited {latencies} ms"
    # Flat memory: what is live at the end (after a GC) is no more than what was
    # in use midway (before any forced GC), and bounded in absolute terms.
    heap_mid, heap_end = samples[0]["JSHeapUsedSize"], samples[-1]["JSHeapUsedSize"]
    assert heap_end < heap_mid * 1.5 + 5e6 and heap_end < 64e6, f"JS heap grew from {heap_mid} to {heap_end}"
    assert samples[-1]["Nodes"] < 200_000, f"{samples[-1]['Nodes']} DOM nodes for a 10,000-line window"


# ---- looks, themes, phone -----------------------------------------------------------------------------------------

DEMO_LINES = [
    "2026-11-28T10:00:00.120Z \x1b[32mINFO \x1b[0m [web-1] server listening on :8080",
    "2026-11-28T10:00:01.457Z \x1b[32mINFO \x1b[0m [web-2] user 42 logged in from 10.0.3.7",
    "2026-11-28T10:00:02.003Z \x1b[2mDEBUG\x1b[0m [web-1] cache hit ratio 0.93 over the last minute",
    "2026-11-28T10:00:02.981Z \x1b[33mWARN \x1b[0m [web-2] slow query (1290 ms): SELECT * FROM orders WHERE id = 7",
    "2026-11-28T10:00:03.310Z \x1b[1;31mERROR\x1b[0m [web-1] payment gateway timeout after 2000 ms (order 1042)",
    "Traceback (most recent call last):",
    '  File "/srv/shop/payments.py", line 88, in charge',
    "shop.gateway.GatewayTimeout: no answer in 2.0 s",
    "2026-11-28T10:00:04.114Z \x1b[32mINFO \x1b[0m [web-2] order 1043 placed: 3 items, total 89.90 EUR",
    "2026-11-28T10:00:04.530Z \x1b[32mINFO \x1b[0m [web-1] \x1b[38;5;75mGET\x1b[0m /api/orders "
    "\x1b[38;2;120;200;80m200\x1b[0m 12 ms",
]


def _demo_dir(logdir):
    (logdir / "worker").mkdir()
    append(logdir / "app.log", *DEMO_LINES * 4)
    append(logdir / "access.log", *[f'10.0.0.{i} - - [28/Nov/2026:10:00:0{i % 10} +0000] '
                                    f'"GET /api/orders/{i} HTTP/1.1" {200 if i % 7 else 500} {1200 + i} "-" "curl"'
                                    for i in range(30)])
    append(logdir / "worker" / "jobs.log", *[f"2026-11-28T10:00:0{i % 10}Z INFO  job {i} done in 0.{i}2 s"
                                             for i in range(20)])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_main_states_in_both_themes(new_page, server, logdir, scheme):
    _demo_dir(logdir)
    page = new_page(viewport={"width": 1280, "height": 760}, color_scheme=scheme)
    viewer = Viewer(page, server).open("file=app.log")
    viewer.wait_count(40)
    viewer.wait_state("live")
    bg = page.evaluate("getComputedStyle(document.getElementById('scroller').parentElement).backgroundColor")
    assert (bg == "rgb(255, 255, 255)") == (scheme == "light")
    save_screenshot(page, f"viewer-{scheme}")

    page.hover("#scroller")
    page.mouse.wheel(0, -400)
    page.wait_for_function("() => document.getElementById('follow').getAttribute('aria-pressed') === 'false'")
    append(logdir / "app.log", *DEMO_LINES[:7])
    page.wait_for_function("() => document.getElementById('jump').dataset.count === '7'")
    page.wait_for_selector("#jump", state="visible")
    save_screenshot(page, f"scrolled-up-{scheme}")

    page.goto(f"{server.url}/#file=app.log&file=access.log&file=worker/jobs.log&q=order")
    viewer.wait_count(10)
    viewer.wait_state("live")
    save_screenshot(page, f"merged-filter-{scheme}")

    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    save_screenshot(page, f"help-{scheme}")


def test_manual_theme_switch_overrides_the_system_preference(new_page, server, logdir):
    append(logdir / "app.log", "x")
    page = new_page(color_scheme="light")
    Viewer(page, server).open("file=app.log")
    background = "() => getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    page.click("#theme")  # system -> light
    page.click("#theme")  # light -> dark
    assert page.get_attribute("html", "data-theme") == "dark"
    assert page.evaluate(background) != light
    page.reload()
    assert page.get_attribute("html", "data-theme") == "dark"


CONTRAST = """(selectors) => {
    const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => { const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                                 return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    const bgOf = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
                           if (!c.endsWith(', 0)') && c !== 'transparent') return c; } return 'rgb(255,255,255)'; };
    return selectors.map(s => { const el = document.querySelector(s); if (!el) return [s, null];
        const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(bgOf(el)));
        return [s, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; });
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_accessible_basics_labels_and_contrast(new_page, server, logdir, scheme):
    append(logdir / "app.log", "2026-11-28T10:00:00Z ERROR boom", "2026-11-28T10:00:01Z WARN hmm",
           "2026-11-28T10:00:02Z INFO ok", "2026-11-28T10:00:03Z DEBUG detail", "\x1b[31mred\x1b[0m \x1b[33myellow")
    page = new_page(color_scheme=scheme)
    viewer = Viewer(page, server).open("file=app.log")
    viewer.wait_count(5)
    page.wait_for_selector("#tree .name")
    unnamed = page.evaluate("""() => Array.from(document.querySelectorAll('button, input, select, a[href]'))
        .filter(el => el.offsetParent !== null)
        .filter(el => { const labelled = el.labels && el.labels.length;
                        const name = (el.getAttribute('aria-label') || el.textContent || el.title || '').trim();
                        return !labelled && !name; })
        .map(el => el.outerHTML.slice(0, 80))""")
    assert unnamed == []
    ratios = dict(page.evaluate(CONTRAST, [
        "#lines .ln .tx", "#lines .lv-error .lvw", "#lines .lv-warn .lvw", "#lines .lv-info .lvw",
        "#lines .lv-debug .tx", "#lines .ts", "#lines .f1", "#lines .f3", "#tree .name", "#tree .meta",
        "#counts", ".lvl-error", ".lvl-info", "#status",
    ]))
    low = {s: r and round(r, 2) for s, r in ratios.items() if r is None or r < 4.5}
    assert low == {}, f"contrast below 4.5:1 in {scheme}: {low}"
    # Tab order starts at the skip link, then the header, the file list, the toolbar.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    order = []
    for _ in range(16):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order.index("sidebar-toggle") < order.index("file-filter") < order.index("filter"), order


def test_phone_width_layout_is_usable(new_page, server, logdir):
    _demo_dir(logdir)
    page = new_page(viewport={"width": 390, "height": 800}, has_touch=True, is_mobile=True)
    viewer = Viewer(page, server).open()
    assert page.is_hidden("#sidebar")
    page.click("#sidebar-toggle")
    page.wait_for_selector("#sidebar", state="visible")
    page.click('#tree li.file[data-path="app.log"] .name')
    page.wait_for_selector("#sidebar", state="hidden")  # closes itself after picking a file
    viewer.wait_count(40)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    for control in ["#filter", "#pause", "#follow", "#status"]:
        box = page.locator(control).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, control
    save_screenshot(page, "phone-light")
