"""The live pane under bursts (issue 15): lines that a frame scrolls past
unseen are drawn plain (web/lazyrows.js), the lines in view are drawn in full,
and a plain line is drawn in full as soon as it is scrolled into view; the
text of the window is every line once, in order, however it was drawn."""

from __future__ import annotations

import browser as fixtures
from browser import Viewer
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page

# The rows that overlap the visible part of the pane, as [plain?, has a timestamp span?].
ROWS_IN_VIEW = """() => { const s = document.getElementById('scroller').getBoundingClientRect();
    return Array.from(document.querySelectorAll('#lines .ln')).filter(l => {
        const r = l.getBoundingClientRect(); return r.height > 0 && r.bottom > s.top && r.top < s.bottom; })
      .map(l => [l.classList.contains('plain'), l.querySelector('.ts') !== null]); }"""


def burst(n: int) -> list[str]:
    return [f"2026-11-30T10:00:00.{i % 1000:03d}Z ERROR burst line {i:05d} \x1b[32mok\x1b[0m" for i in range(n)]


def shown(n: int) -> list[str]:
    return [line.replace("\x1b[32m", "").replace("\x1b[0m", "") for line in burst(n)]


def test_a_burst_is_drawn_plain_off_screen_in_full_in_view_and_when_scrolled_to(new_page, server, logdir):
    append(logdir / "app.log", "start")
    viewer = Viewer(new_page(), server).open("file=app.log")
    viewer.wait_texts(["start"])
    viewer.wait_state("live")
    page = viewer.page
    append(logdir / "app.log", *burst(3000))  # one write: far more than a screenful per frame
    viewer.wait_texts(["start"] + shown(3000))
    plain = page.locator("#lines .ln.plain").count()
    assert 2000 < plain < 3001, f"{plain} plain rows"
    elements = page.evaluate("() => document.querySelectorAll('#lines *').length")
    assert elements < 3 * 3001, f"{elements} elements for 3,001 lines"
    in_view = page.evaluate(ROWS_IN_VIEW)
    assert in_view and all(not is_plain and has_ts for is_plain, has_ts in in_view), in_view
    # Scrolled to the top, the rows there are drawn in full (timestamp, level word, colour).
    page.hover("#scroller")
    page.mouse.wheel(0, -10**7)
    # (At the top the history may put "the start of app.log's history" above, keeping
    # the place: the rows in view are the same, the scroll offset is not 0 then.)
    page.wait_for_function(f"() => {{ const rows = ({ROWS_IN_VIEW})(); return rows.length > 0 && "
                           "document.getElementById('scroller').scrollTop < 100 && rows.every(r => !r[0]) "
                           "&& rows.slice(1).every(r => r[1]); }")  # the first is "start": no timestamp
    page.wait_for_function("() => document.getElementById('follow').getAttribute('aria-pressed') === 'false'")
    assert page.locator("#lines .ln:not(.plain) .lvw").count() > 0
    assert viewer.texts() == ["start"] + shown(3000)


def test_rows_drawn_plain_are_drawn_in_full_when_a_hidden_level_shows_them(new_page, server, logdir):
    append(logdir / "app.log", "start")
    viewer = Viewer(new_page(), server).open("file=app.log")
    viewer.wait_state("live")
    page = viewer.page
    # Errors first, then a screenful of info lines: hiding INFO brings the
    # errors (scrolled past, drawn plain) into view.
    append(logdir / "app.log", *burst(1500), *[f"INFO tail {i}" for i in range(200)])
    viewer.wait_count(1701)
    assert page.locator("#lines .ln.plain.lv-error").count() > 750  # most: how many a frame draws in full varies
    page.click('button.lvl[data-level="info"]')
    page.wait_for_function(f"() => {{ const rows = ({ROWS_IN_VIEW})(); "
                           "return rows.length > 0 && rows.every(r => !r[0] && r[1]); }")
