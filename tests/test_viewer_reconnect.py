"""Reconnecting in a real Chromium: a click on the status pill retries at once,
and the back-off starts again from its first step once a connection succeeded,
so a restarted server is Live again in about a second, not 15 (issue 17)."""

from __future__ import annotations

import time

import browser as fixtures
from browser import Viewer
from conftest import append, free_port

browser = fixtures.browser
new_page = fixtures.new_page


def test_a_click_retries_at_once_and_success_restarts_the_backoff(new_page, logserver, logdir):
    append(logdir / "app.log", "one")
    server = logserver(logdir, "--heartbeat", "1", port=free_port())
    viewer = Viewer(new_page(), server).open("file=app.log")
    page = viewer.page
    viewer.wait_texts(["one"])
    viewer.wait_state("live")

    server.stop()
    # Let the back-off grow: attempt 3 waits about 8 s.
    page.wait_for_function("() => /attempt [3-9]/.test(document.getElementById('status-text').textContent)",
                           timeout=20_000)
    # A click while the server is still down tries at once and does not make the
    # next wait longer: the back-off starts again from its first step.
    page.click("#status")
    page.wait_for_function("() => /attempt 1, (next try in [0-2]s|trying…)/"
                           ".test(document.getElementById('status-text').textContent)")
    page.wait_for_function("() => /attempt [3-9]/.test(document.getElementById('status-text').textContent)",
                           timeout=20_000)
    server.start()
    started = time.monotonic()
    page.click("#status")
    viewer.wait_state("live", timeout=3)
    assert time.monotonic() - started < 3
    append(logdir / "app.log", "two")
    viewer.wait_texts(["one", "two"])

    # It succeeded: the next outage starts again from the first step (the server's retry, 2 s).
    server.stop()
    viewer.wait_state("reconnecting")
    page.wait_for_function("() => /attempt 1, (next try in [0-2]s|trying…)/"
                           ".test(document.getElementById('status-text').textContent)")
    server.start()
    viewer.wait_state("live", timeout=6)
    append(logdir / "app.log", "three")
    viewer.wait_texts(["one", "two", "three"])
