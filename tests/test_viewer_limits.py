"""Any server setting leaves the viewer working: it reads the limits from
/healthz and asks for no more than they allow (issue 12, item 13, and its
siblings: a backlog limit, no heartbeat, one stream per client)."""

from __future__ import annotations

import pytest

import browser as fixtures
from browser import Viewer
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page


def numbered(n: int) -> list[str]:
    return [f"line {i:04d}" for i in range(n)]


def test_healthz_tells_the_limits_a_client_must_keep_to(logserver, logdir):
    srv = logserver(logdir, "--max-backlog", "50", "--backlog", "20", "--max-per-ip", "3")
    health = srv.json("/healthz")[1]
    assert (health["backlog"], health["max_backlog"], health["max_per_ip"]) == (20, 50, 3)
    assert health["max_connections"] >= 1


@pytest.mark.parametrize("limit", [50, 0])
def test_a_small_max_backlog_still_shows_lines(new_page, logserver, logdir, limit):
    append(logdir / "app.log", *numbered(200))
    srv = logserver(logdir, "--max-backlog", str(limit))
    viewer = Viewer(new_page(), srv).open("file=app.log")
    viewer.wait_state("live")
    viewer.wait_texts(numbered(200)[200 - limit:])
    assert viewer.page.evaluate("window.__logstream.stream.url('')").endswith(f"?lines={limit}")
    append(logdir / "app.log", "after")
    viewer.wait_texts(numbered(200)[200 - limit:] + ["after"])
    assert viewer.page.locator("#lines .sep-error").count() == 0


@pytest.mark.parametrize("flag", ["--max-per-ip", "--max-connections"])
def test_one_stream_per_client_goes_to_the_log_and_the_file_list_is_read_once(new_page, logserver, logdir, flag):
    append(logdir / "app.log", "one", "two")
    append(logdir / "other.log", "x")
    srv = logserver(logdir, flag, "1", "--heartbeat", "1")
    viewer = Viewer(new_page(), srv).open("file=app.log")
    viewer.wait_texts(["one", "two"])
    viewer.wait_state("live")
    page = viewer.page
    page.wait_for_selector('#tree li.file[data-path="other.log"]')
    assert "one stream per client" in page.inner_text("#file-count")
    append(logdir / "app.log", "three")
    viewer.wait_texts(["one", "two", "three"])
    # The server frees the old stream's slot when it notices it closed (at its next
    # heartbeat); until then the new one is told 429 with Retry-After, and waits.
    page.click('#tree li.file[data-path="other.log"] .name')
    viewer.wait_texts(["x"], timeout=20)
    viewer.wait_state("live")


def test_without_heartbeats_a_quiet_stream_stays_live(new_page, logserver, logdir):
    append(logdir / "app.log", "quiet")
    srv = logserver(logdir, "--heartbeat", "0")
    viewer = Viewer(new_page(), srv).open("file=app.log")
    viewer.wait_texts(["quiet"])
    viewer.wait_state("live")
    page = viewer.page
    page.wait_for_function("() => window.__logstream.settings.heartbeat === 0")
    # As if nothing had come for two minutes: with no heartbeat that is no sign of a lost connection.
    page.evaluate("() => { window.__logstream.stream.state.lastActivity = Date.now() - 120000; }")
    page.wait_for_function("() => /ago/.test(document.getElementById('status-age').textContent)")
    assert page.get_attribute("#status", "data-state") == "live"
