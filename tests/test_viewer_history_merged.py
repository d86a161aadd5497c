"""Scrolling back a merged view (issue 13), in a real Chromium against the real
server: two files whose timestamps interleave are followed at once; scrolling to
the top again and again pages each file back from its own oldest line shown and
merges the pages in time order (a stack trace's unstamped lines under their
line), so the pane is always one stretch of the two files' history in time
order, each line once, the reader's place kept and the window bounded; back at
the bottom the live stream follows on from each file's last line shown: the
lines dropped meanwhile come back once, and a new line of each file arrives
once. Also the merge itself (mergedhistory.js mergeOlder) against a brute-force
reference, by hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import browser as fixtures
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

TO_TOP = "() => { const s = document.getElementById('scroller'); s.scrollTop = 0; }"
FIRST_TEXT = "() => document.querySelector('#lines .ln > .tx')?.textContent"
# Where the line showing `text` is, px below the pane's top.
OFFSET = """(text) => {
    const el = [...document.querySelectorAll('#lines .ln > .tx')].find((e) => e.textContent === text);
    return el.getBoundingClientRect().top - document.getElementById('scroller').getBoundingClientRect().top;
}"""
BASE = datetime(2026, 11, 30, 4, 0, 0, tzinfo=UTC)


def stamp(t: int) -> str:
    return (BASE + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")


def two_files(events: int) -> tuple[list[str], list[str], list[str]]:
    """a.log takes the even seconds, b.log the odd ones; some early lines of
    a.log carry a three-line stack trace. Returns (a's lines, b's lines, both in
    time order)."""
    a, b, both = [], [], []
    for t in range(events):
        name, lines = ("a", a) if t % 2 == 0 else ("b", b)
        entry = [f"{stamp(t)} INFO {name} event {t:05d}"]
        if name == "a" and t < 400 and t % 6 == 0:  # a page back from a 700 starts inside one of these
            entry += [f"    at frame {t:05d}.{k}" for k in (1, 2, 3)]
        lines += entry
        both += entry
    return a, b, both


def scroll_to_older_page(viewer, both: list[str]) -> str:
    """Scroll to the top, wait for the older page, check the pane is one stretch
    of ``both`` (the merged history in time order), each line once. Returns the
    text of the line that was first before."""
    page = viewer.page
    first = page.evaluate(FIRST_TEXT)
    page.evaluate(TO_TOP)
    page.wait_for_function(f"(was) => ({FIRST_TEXT})() !== was", arg=first)
    texts = viewer.texts()
    start = both.index(texts[0])
    assert texts == both[start:start + len(texts)], "one stretch of the merged history, in time order, each once"
    return first


def test_scrolling_back_a_merged_view_shows_both_histories_in_time_order_each_once(viewer, logdir):
    a, b, both = two_files(1200)
    append(logdir / "a.log", *a)
    append(logdir / "b.log", *b)
    page = viewer.open("file=a.log&file=b.log&max=500").page
    viewer.wait_texts(both[-500:])  # the backlogs, interleaved: the last 500 of the two

    for _ in range(20):
        first = scroll_to_older_page(viewer, both)
        # At the top, the first line was just under the pane's top; the older page goes above it, out of sight.
        assert 0 <= page.evaluate(OFFSET, first) < 40, "the line the reader looked at stays put"
        assert page.evaluate("() => document.querySelectorAll('#lines .ln, #lines .sep').length") <= 500
        if page.query_selector("#lines .sep-start"):
            break
    assert page.query_selector("#lines .sep-start"), "both files' start reached"
    texts = viewer.texts()
    assert texts == both[:len(texts)] and len(texts) >= 495, "the two histories from their start"
    starts = page.evaluate("() => Array.from(document.querySelectorAll('#lines .sep-filestart'), e => e.textContent)")
    assert sorted(starts) == ["The start of a.log's history", "The start of b.log's history"]
    assert page.is_visible("#history-bar"), "the far end gave way: detached from the live end"

    append(logdir / "a.log", f"{stamp(1200)} INFO a event 01200")  # while detached: not shown yet
    page.click("#history-follow")
    later = both + [f"{stamp(1200)} INFO a event 01200"]
    viewer.wait_texts(later[-500:])  # every line dropped comes back once, the top giving way
    assert not page.is_visible("#history-bar")
    append(logdir / "a.log", f"{stamp(1202)} INFO a event 01202")
    append(logdir / "b.log", f"{stamp(1201)} INFO b event 01201")
    viewer.wait_count(500)
    page.wait_for_function("() => document.querySelectorAll('#lines .ln').length >= 500"
                           " && document.body.textContent.includes('b event 01201')"
                           " && document.body.textContent.includes('a event 01202')")
    texts = viewer.texts()
    assert texts.count(f"{stamp(1201)} INFO b event 01201") == 1
    assert texts.count(f"{stamp(1202)} INFO a event 01202") == 1
    assert texts[:-2] == later[-498:], "no gap, no line twice"


def test_clearing_a_merged_view_scrolled_back_shows_what_each_file_writes_from_then_on(viewer, logdir):
    a, b, both = two_files(400)
    append(logdir / "a.log", *a)
    append(logdir / "b.log", *b)
    page = viewer.open("file=a.log&file=b.log&max=100").page
    viewer.wait_texts(both[-100:])
    page.evaluate(TO_TOP)
    page.wait_for_selector("#history-bar:not([hidden])")  # a page of 50 above: the far end given way
    page.keyboard.press("c")
    viewer.wait_state("live")
    append(logdir / "b.log", f"{stamp(401)} INFO b event 00401")
    append(logdir / "a.log", f"{stamp(402)} INFO a event 00402")
    page.wait_for_function("() => document.querySelectorAll('#lines .ln').length >= 2")
    # Live lines keep their arrival order, which two appends in a row do not fix: compare as a set.
    assert sorted(viewer.texts()) == [f"{stamp(401)} INFO b event 00401", f"{stamp(402)} INFO a event 00402"], \
        "only what came after each file's last line, each once"


@pytest.fixture
def blank(viewer, logdir):
    append(logdir / "app.log", "x")
    return viewer.open().page


# A file: (seconds, continuation lines after it) per stamped line, ordered.
entries = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 2)), max_size=12).map(sorted)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(entries, min_size=1, max_size=3), n=st.integers(1, 12))
def test_merging_older_pages_takes_the_newest_of_the_union_in_time_order(blank, files, n):
    """Whole histories (done): the page is the last n lines of the stable time
    sort, continuations under their line, equal times in the files' order."""
    texts = []
    for f, spec in enumerate(files):
        lines = []
        for k, (sec, cont) in enumerate(spec):
            lines.append(f"{stamp(sec)} f{f} {k}")
            lines += [f"    at f{f} {k}.{c}" for c in range(cont)]
        texts.append(lines)
    got = blank.evaluate("""async ([texts, n]) => {
        const { mergeOlder } = await import('./mergedhistory.js');
        const files = texts.map((ls, f) => ({
            lines: ls.map((t, i) => ({ id: f + ':' + i, text: t })), done: true, next: null }));
        const r = mergeOlder(files, n);
        return { take: r.take.map((l) => l.text), kept: r.kept };
    }""", [texts, n])
    keyed = []
    for f, lines in enumerate(texts):
        t = None
        for i, line in enumerate(lines):
            if not line.startswith(" "):
                t = line[:20]
            keyed.append((t, f, i, line))
    order = [line for *_, line in sorted(keyed)]
    want = order[max(0, len(order) - n):]
    assert got["take"] == want
    assert sum(len(t) for t in texts) - sum(got["kept"]) == len(want)
    for f, lines in enumerate(texts):  # what stays is each file's oldest lines
        assert [x for x in want if f" f{f} " in x] == lines[got["kept"][f]:]


def test_a_page_starting_inside_a_stack_trace_holds_it_back_until_its_line_is_fetched(blank):
    """The unstamped lines a page starts with belong to an older line not
    fetched yet: they wait (with everything older), so they are shown under it."""
    got = blank.evaluate("""async ([a, b]) => {
        const { mergeOlder } = await import('./mergedhistory.js');
        const file = (texts, done) => ({ lines: texts.map((t, i) => ({ id: String(i), text: t })), done, next: null });
        return mergeOlder([file(a, false), file(b, true)], 10).take.map((l) => l.text);
    }""", [["    at frame 1", "    at frame 2", f"{stamp(10)} a"], [f"{stamp(5)} b", f"{stamp(11)} b"]])
    assert got == [f"{stamp(10)} a", f"{stamp(11)} b"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.lists(st.integers(0, 50), max_size=15).map(sorted), min_size=1, max_size=3),
       n=st.integers(1, 10), data=st.data())
def test_a_held_catch_up_cut_to_each_file_s_last_lines_keeps_what_the_window_shows(blank, files, n, data):
    """Following on from far back, the held lines are cut to each file's last
    n: the newest n of the union in time order are the same."""
    order = data.draw(st.permutations([f for f, secs in enumerate(files) for _ in secs]))  # arrival order
    nth = [0] * len(files)
    lines = []
    for f in order:
        lines.append({"path": f"f{f}.log", "data": f"{stamp(files[f][nth[f]])} f{f} {nth[f]}"})
        nth[f] += 1
    got = blank.evaluate("""async ([lines, n]) => {
        const { interleaveByTime, newestOfEach } = await import('./interleave.js');
        const cut = newestOfEach(lines, n);
        const last = (ls) => interleaveByTime(ls).slice(-n).map((l) => l.data);
        return { kept: cut.lines.map((l) => l.data), dropped: cut.dropped, all: last(lines), cut: last(cut.lines) };
    }""", [lines, n])
    assert got["cut"] == got["all"]
    want = [x["data"] for i, x in enumerate(lines)
            if sum(1 for y in lines[i + 1:] if y["path"] == x["path"]) < n]
    assert got["kept"] == want and got["dropped"] == len(lines) - len(want)


def test_a_busy_file_beside_a_quiet_one_starts_and_scrolls_back_in_time_order(new_page, logserver, logdir):
    # Each file sends its last N lines: the busy file's reach back 100 s, the
    # quiet one's the whole 1,000 s. Shown as it came, the quiet file's older
    # lines sat where the busy file's older lines, paged in later, belonged
    # above them: time went backwards at the seam (a new-user trial found it).
    busy = [f"{stamp(t)} INFO busy {t:04d}" for t in range(400, 1000)]  # one a second
    quiet = [f"{stamp(t)} INFO quiet {t:04d}" for t in range(0, 1000, 10)]  # one every 10 s
    both = sorted(busy + quiet, key=lambda line: line[:20])
    append(logdir / "busy.log", *busy)
    append(logdir / "quiet.log", *quiet)
    srv = logserver(logdir, "--max-backlog", "100")
    viewer = fixtures.Viewer(new_page(), srv).open("file=busy.log&file=quiet.log&max=500")
    viewer.wait_state("live")
    page = viewer.page
    page.wait_for_function("() => document.querySelectorAll('#lines .ln').length >= 100")
    texts = viewer.texts()
    assert texts == both[-len(texts):], "the backlog: one stretch up to the newest line, in time order"
    assert texts[0] >= busy[-100], "nothing older than the busy file's first line sent"
    for _ in range(12):
        scroll_to_older_page(viewer, both)
        if viewer.page.query_selector("#lines .sep-start"):
            break
