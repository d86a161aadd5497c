"""The pure parts of the viewer's history (issue 13), in a real Chromium: a
line link names its file and line (or range) and reads back exactly so from
the page's hash; a page of older lines never repeats a line already shown;
the lines an anchor highlights are exactly its line or range; what the reader
types in "Jump to time" becomes the server's TIME or a plain error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import browser as fixtures
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

# One page for every example: hypothesis runs many examples against it.
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def page(viewer, logdir):
    append(logdir / "app.log", "x")
    return viewer.open().page


ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)


@SETTINGS
@given(file=names, a=ids, b=ids, ranged=st.booleans())
def test_a_line_link_reads_back_as_its_file_and_line(page, file, a, b, ranged):
    anchor = {"from": a, "to": b} if ranged else {"at": a}
    got = page.evaluate("""async ([file, anchor]) => {
        const { lineLink } = await import('./linelinks.js');
        const { readHash, state } = await import('./state.js');
        const link = lineLink(location.href.split('#')[0], file, anchor);
        const before = location.href;
        history.replaceState(null, '', link);  // no hashchange: the view is left alone
        readHash();
        const out = { files: state.files, anchor: state.anchor, link };
        history.replaceState(null, '', before);
        readHash();
        return out;
    }""", [file, anchor])
    assert got["files"] == [file]
    assert got["anchor"] == anchor
    assert ("&from=" in got["link"]) == ranged


@SETTINGS
@given(lines=st.lists(st.integers(0, 40), max_size=60), shown=st.sets(st.integers(0, 40)))
def test_a_page_adds_only_lines_not_shown_each_once_in_order(page, lines, shown):
    got = page.evaluate("""async ([lines, shown]) => {
        const { unseen } = await import('./historypage.js');
        const have = new Set(shown.map(String));
        return unseen(lines.map(n => ({ id: String(n), text: 'line ' + n })), id => have.has(id));
    }""", [lines, sorted(shown)])
    want, seen = [], set()
    for n in lines:
        if n not in shown and n not in seen:
            seen.add(n)
            want.append({"data": f"line {n}", "id": str(n)})
    assert got == want


@SETTINGS
@given(n=st.integers(1, 30), data=st.data())
def test_an_anchor_highlights_exactly_its_line_or_range(page, n, data):
    window = [f"i{k}" for k in range(n)]
    a = data.draw(st.integers(0, n - 1))
    b = data.draw(st.integers(0, n - 1))
    got = page.evaluate("""async ([ids, a, b]) => {
        const { anchorSpan } = await import('./historypage.js');
        return [anchorSpan(ids, { at: ids[a] }), anchorSpan(ids, { from: ids[a], to: ids[b] }),
                anchorSpan(ids, { since: '15m' }), anchorSpan(ids, { at: 'gone' }), anchorSpan(ids, null)];
    }""", [window, a, b])
    assert got == [[window[a]], window[min(a, b):max(a, b) + 1], [window[0]], [], []]


@pytest.mark.parametrize("ids, at, before, after", [
    (["a", "b", "c", "d"], "b", ["a"], ["c", "d"]),
    (["a", "b"], "a", [], ["b"]),
    (["a", "b"], "b", ["a"], []),
    (["a", "b"], "gone", [], ["a", "b"]),
])
def test_context_splits_a_page_at_its_line(page, ids, at, before, after):
    got = page.evaluate("""async ([ids, at]) => {
        const { splitAround } = await import('./context.js');
        const r = splitAround(ids.map(id => ({ id, text: id })), at);
        return [r.before.map(l => l.id), r.after.map(l => l.id)];
    }""", [ids, at])
    assert got == [before, after]


times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda t: t.replace(microsecond=0))
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5, minutes=30))])


def _offset(z) -> str:
    if z is None:
        return ""
    if z is UTC:
        return "Z"
    return datetime(2000, 1, 1, tzinfo=z).strftime("%z")  # +0200


@SETTINGS
@given(t=times, zone=zones, sep=st.sampled_from(["T", " "]), colon=st.booleans())
def test_a_typed_time_becomes_the_servers_rfc3339_time(page, t, zone, sep, colon):
    off = _offset(zone)
    if colon and len(off) == 5:
        off = off[:3] + ":" + off[3:]
    typed = t.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + off
    canonical = t.strftime("%Y-%m-%dT%H:%M:%S") + ("" if not off else "Z" if off == "Z" else
                                                    (off if ":" in off else off[:3] + ":" + off[3:]))
    got = page.evaluate("async (t) => (await import('./jumptime.js')).parseTimeInput(t)", typed)
    assert got == {"since": canonical}


@pytest.mark.parametrize("typed, since", [
    ("15m", "15m"), (" 90S ", "90s"), ("2h", "2h"), ("3 d", "3d"),
    ("2026-11-30 04:00", "2026-11-30T04:00:00"), ("2026-11-30T04:00:00.250Z", "2026-11-30T04:00:00.250Z"),
    ("2026-11-30 04:25:58,123", "2026-11-30T04:25:58.123"),
])
def test_relative_and_short_times_are_read_as_the_server_reads_them(page, typed, since):
    assert page.evaluate("async (t) => (await import('./jumptime.js')).parseTimeInput(t)", typed) == {"since": since}


@pytest.mark.parametrize("typed", ["", "yesterday", "15 minutes", "2026-02-30T04:00:00Z", "2026-11-30T25:00:00Z",
                                   "2026-11-30", "-15m", "04:00"])
def test_what_is_not_a_time_is_told_not_sent(page, typed):
    got = page.evaluate("async (t) => (await import('./jumptime.js')).parseTimeInput(t)", typed)
    assert "since" not in got and got["error"]
