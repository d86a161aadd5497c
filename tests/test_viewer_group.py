"""Stack traces as one entry in a real Chromium (issue 14): the toolbar's "Join
stack traces" asks the server for ``group=1``, is kept in the permalink and across
reloads, and a ``continuation`` event (the rest of a trace written after the
hold) is appended to the entry it continues, of the same file in a merged view,
never shown as an entry of its own."""

from __future__ import annotations

import time

import browser as fixtures
from conftest import append
from test_grouping import JAVA

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

TRACE = "\n".join(JAVA)


def test_the_toggle_joins_a_trace_into_one_entry_and_is_remembered(viewer, logdir):
    append(logdir / "app.log", "INFO start", *JAVA, "INFO end")
    v = viewer.open("file=app.log")
    v.wait_count(2 + len(JAVA))  # line by line until asked
    page = v.page
    assert page.get_attribute("#group", "aria-pressed") == "false"
    page.click("#group")
    v.wait_texts(["INFO start", TRACE, "INFO end"])
    assert page.get_attribute("#group", "aria-pressed") == "true"
    assert "group=1" in page.evaluate("() => location.hash")
    assert page.inner_text("#lines .ln >> nth=1 >> .more") == f"+{len(JAVA) - 1} lines"
    page.goto(page.url.split("#")[0] + "#file=app.log")  # no group= in the link: local storage has the choice
    page.reload()
    v.wait_texts(["INFO start", TRACE, "INFO end"])
    page.keyboard.press("j")  # the shortcut turns it off again
    v.wait_count(2 + len(JAVA))
    assert "group=1" not in page.evaluate("() => location.hash")


def test_a_continuation_joins_the_entry_it_continues_and_keeps_it_open(viewer, logdir):
    log = logdir / "app.log"
    append(log, "INFO start")
    v = viewer.open("file=app.log&group=1")
    v.wait_count(1)
    append(log, *JAVA[:2])
    v.wait_texts(["INFO start", "\n".join(JAVA[:2])])  # sent when the hold expired
    page = v.page
    page.click("#lines .ln >> nth=1 >> .more")
    time.sleep(0.3)  # the scenario: a quiet pause longer than the server's hold
    append(log, *JAVA[2:])
    append(log, "INFO next")
    v.wait_texts(["INFO start", TRACE, "INFO next"])
    assert page.is_visible("#lines .ln >> nth=1 >> .rest")  # still open, now with the rest
    assert page.inner_text("#lines .ln >> nth=1 >> .more") == "show less"


def test_in_a_merged_view_a_continuation_joins_its_own_files_entry(viewer, logdir):
    append(logdir / "a.log", "a start")
    append(logdir / "b.log", "b start")
    v = viewer.open("file=a.log&file=b.log&group=1")
    v.wait_count(2)
    append(logdir / "a.log", *JAVA[:2])
    v.wait_count(3)
    append(logdir / "b.log", "b next")
    v.wait_count(4)
    time.sleep(0.3)  # the scenario: a.log's trace goes on after the hold
    append(logdir / "a.log", *JAVA[2:])
    append(logdir / "a.log", "a next")
    v.wait_count(5)
    texts = v.texts()
    assert TRACE in texts and "b next" in texts and "a next" in texts and len(texts) == 5


def test_screenshot_of_joined_traces(viewer, logdir):
    python = ["Traceback (most recent call last):", '  File "/srv/app/jobs.py", line 88, in run',
              "    charge(order)", '  File "/srv/app/pay.py", line 31, in charge',
              "    raise GatewayTimeout(after_ms=2000)", "pay.GatewayTimeout: after 2000 ms"]
    append(logdir / "app.log", "2026-11-30 04:25:58,120 INFO job 4211 started",
           "2026-11-30 04:25:59,004 ERROR job 4211 failed", *python,
           "2026-11-30 04:25:59,100 WARN retrying job 4211 (attempt 2)",
           "2026-11-30 04:26:00,010 ERROR worker crashed", *JAVA,
           "2026-11-30 04:26:00,200 INFO worker restarted")
    v = viewer.open("file=app.log&group=1")
    v.wait_count(5)
    v.page.click("#lines .ln >> nth=1 >> .more")
    fixtures.save_screenshot(v.page, "joined-traces")


ENTRIES = ("() => Array.from(document.querySelectorAll('#lines .ln, #lines .sep'), "
           "e => (e.classList.contains('sep') ? 'SEP ' : '') + e.textContent)")


def test_continuation_after_rotate_attaches_across_the_separator(viewer, logdir):
    log = logdir / "app.log"
    append(log, "ERROR x", "  at one")
    v = viewer.open("file=app.log&group=1")
    v.wait_count(1)
    log.rename(logdir / "app.log.1")
    append(log, "  at two", "INFO n1")
    v.page.wait_for_function("() => document.querySelector('#lines').textContent.includes('INFO n1')")
    got = v.page.evaluate(ENTRIES)
    assert not any("at one" in e and "at two" in e for e in got), got


def test_merged_paused_overflow_attaches_to_an_older_entry_of_the_file(viewer, logdir):
    v = viewer.open("")
    got = v.page.evaluate("""async () => {
      const v = window.__logstream.view;
      const A = {index: 0, label: 'a.log', title: 'a.log', colour: 0};
      const B = {index: 1, label: 'b.log', title: 'b.log', colour: 1};
      v.setMax(3);
      v.addLines([{data: 'a old', source: A}]);
      await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
      v.setPaused(true);
      v.addLines([{data: 'ERROR a new', source: A}]);
      v.addLines([1, 2, 3].map(n => ({data: 'b ' + n, source: B})));   // pushes 'ERROR a new' out of pending
      v.addLines([{data: '  at continuation of ERROR a new', source: A, continuation: true}]);
      return Array.from(document.querySelectorAll('#lines .ln > .tx'), e => e.textContent);
    }""")
    assert not any("a old" in t and "continuation of ERROR a new" in t for t in got), got


def test_set_look_collapses_a_trace_the_reader_expanded(viewer, logdir):
    append(logdir / "app.log", "ERROR x", "  at one", "  at two")
    v = viewer.open("file=app.log&group=1")
    v.wait_count(1)
    page = v.page
    page.click("#lines .ln >> nth=0 >> .more")
    assert page.inner_text("#lines .ln >> nth=0 >> .more") == "show less"
    page.evaluate("() => window.__logstream.view.setLook({timeMode: 'utc'})")
    assert page.inner_text("#lines .ln >> nth=0 >> .more") == "show less", "setLook collapsed the entry"
