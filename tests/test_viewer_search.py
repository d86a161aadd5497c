"""The viewer's search panel (issue 13), in a real Chromium against the real
server: a search of the whole history shows its hits newest first, across
rotations, each with a line of context, with its progress and its end; a click
on a hit opens the log at that line, highlighted; a bad pattern is told under
the box."""

from __future__ import annotations

import os

import pytest

import browser as fixtures
import test_redis
from browser import TARGETS, Viewer, save_screenshot
from conftest import append, wait_for

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer
redis_server, scale = test_redis.redis_server, test_redis.scale  # the scale-out fixtures, shared

HITS = "() => Array.from(document.querySelectorAll('#search-hits .hit .hit-line'), e => e.textContent)"


def stamped(start: int, stop: int, every: int = 7) -> list[str]:
    """Lines one second apart from 04:00:00; every ``every``-th one holds "needle"."""
    return [f"2026-11-30T04:{i // 60:02d}:{i % 60:02d}Z INFO {'needle' if i % every == 0 else 'hay'} {i:04d}"
            for i in range(start, stop)]


def scale_out_node(request, older: list[str], current: list[str]):
    """A web node serving a Redis stream to which an agent shipped ``older``,
    then (after a rotation) ``current``: the same history, as a scale-out user sees it."""
    if test_redis.REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (./run.sh test installs it)")
    scale = request.getfixturevalue("scale")
    root = scale.agent("web-1").root
    r = scale.redis.client()
    shipped = lambda: len(test_redis.stream_lines(r, "web-1", "app.log"))  # noqa: E731
    append(root / "app.log", *older)
    wait_for(lambda: shipped() == len(older), message="the older lines shipped")
    os.rename(root / "app.log", root / "app.log.1")
    append(root / "app.log", *current)
    wait_for(lambda: shipped() == len(older) + len(current), message="the rotated file's lines shipped")
    return scale.node(), "web-1/app.log"


@pytest.mark.parametrize("scheme, source", [("light", "local"), ("dark", "local"), ("light", "redis")])
def test_search_shows_hits_newest_first_across_rotations_and_a_click_opens_the_line(request, new_page, logdir,
                                                                                  scheme, source):
    older, current = stamped(0, 300), stamped(300, 420)
    if source == "redis":  # a scale-out web node: the stream's entries (tests/test_search_redis.py)
        server, path = scale_out_node(request, older, current)
    else:
        append(logdir / "app.log", *older)
        os.rename(logdir / "app.log", logdir / "app.log.1")
        append(logdir / "app.log", *current)
        server, path = request.getfixturevalue("server"), "app.log"
    viewer = Viewer(new_page(color_scheme=scheme), server)
    page = viewer.open(f"file={path}").page
    viewer.wait_texts(older + current if source == "redis" else current)  # a stream's backlog crosses rotations
    page.click("#search-open")
    page.fill("#search-input", "NEEDLE")  # case-insensitive unless Aa is pressed
    page.press("#search-input", "Enter")
    history = older + current
    want = [t for t in reversed(history) if "needle" in t]
    page.wait_for_function("(n) => /\\bhits? in\\b/.test(document.getElementById('search-state').textContent)",
                           arg=None)
    assert page.evaluate(HITS) == want
    assert page.inner_text("#search-state").startswith(f"{len(want)} hits in ")
    first = page.locator("#search-hits .hit").nth(1)
    i = history.index(want[1])
    assert first.locator(".hit-ctx").all_inner_texts() == [history[i - 1], history[i + 1]]
    assert first.locator(".hit-line mark").inner_text() == "needle"
    if source == "redis":
        assert " entries in " in page.inner_text("#search-state")  # what a Redis node counts
    save_screenshot(page, f"search-panel-{scheme}" + ("-redis" if source == "redis" else ""))

    oldest = page.locator("#search-hits .hit").last  # in app.log.1
    oldest.click()
    page.wait_for_function(f"() => ({TARGETS})().length === 1")
    assert page.evaluate(TARGETS) == [want[-1]]
    assert "at=" in page.url
    assert page.is_visible("#history-bar")


def test_a_bad_search_pattern_is_told_under_the_box(viewer, logdir):
    append(logdir / "app.log", *stamped(0, 10))
    page = viewer.open("file=app.log").page
    viewer.wait_texts(stamped(0, 10))
    page.click("#search-open")
    page.click("#search-regex")
    page.fill("#search-input", "needle(")
    page.press("#search-input", "Enter")
    page.wait_for_selector("#search-error:not([hidden])")
    assert "missing )" in page.inner_text("#search-error")
