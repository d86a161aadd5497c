"""Smaller things of the desktop viewer, in a real Chromium: a long file name can be
read, the filter's text never runs under its buttons, pausing moves nothing, the
directory's name stays after signing in, a file downloads from the sidebar, and
the demo opens its main log at once (issue 17)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import browser as fixtures
from browser import Viewer
from conftest import ROOT, append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

LONG = "payments-gateway-reconciliation-worker-eu-west-1-2026-11-30.log"



def test_a_long_file_name_can_be_read_in_the_sidebar(viewer, logdir):
    append(logdir / LONG, "x")
    page = viewer.open().page
    name = page.locator(f'#tree li.file[data-path="{LONG}"] .name')
    name.wait_for()
    assert name.get_attribute("title") == LONG
    assert page.evaluate("(el) => el.scrollWidth > el.clientWidth", name.element_handle())  # cut at rest
    name.hover()
    page.wait_for_function("(el) => el.scrollWidth <= el.clientWidth && el.innerText === el.textContent",
                           arg=name.element_handle())
    box = name.bounding_box()
    assert box["x"] + box["width"] <= page.locator("#sidebar").bounding_box()["width"]


def test_the_filter_text_never_runs_under_its_buttons(viewer, logdir):
    append(logdir / "app.log", "x")
    page = viewer.open("file=app.log").page
    viewer.wait_count(1)
    page.click("#filter")
    page.keyboard.type("a filter long enough to reach the buttons at the right end of the box, and more")
    page.wait_for_selector("#filter-clear", state="visible")
    text_right, first_button = page.evaluate("""() => {
        const input = document.getElementById('filter'), r = input.getBoundingClientRect();
        const textRight = r.right - parseFloat(getComputedStyle(input).paddingRight);
        const lefts = ['filter-clear', 'opt-regex', 'opt-case', 'opt-invert']
            .map(id => document.getElementById(id).getBoundingClientRect().left);
        return [textRight, Math.min(...lefts)];
    }""")
    assert text_right <= first_button
    page.click("#filter-clear")
    assert page.input_value("#filter") == ""
    page.wait_for_selector("#filter-clear", state="hidden")


def test_pausing_moves_nothing_and_the_placeholder_fits(viewer, logdir):
    append(logdir / "app.log", "x")
    page = viewer.open("file=app.log").page
    viewer.wait_count(1)
    boxes = "() => ['pause', 'filter', 'follow'].map(id => { const r = document.getElementById(id)" \
            ".getBoundingClientRect(); return [Math.round(r.x), Math.round(r.width)]; })"
    before = page.evaluate(boxes)
    page.click("#pause")
    append(logdir / "app.log", *[f"held {i}" for i in range(1234)])
    page.wait_for_function("() => document.getElementById('pause-count').textContent === '1,234'")
    assert page.evaluate(boxes) == before
    fits = page.evaluate("""() => {
        const input = document.getElementById('filter'), s = getComputedStyle(input);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = `${s.fontSize} ${s.fontFamily}`;
        const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        return ctx.measureText(input.placeholder).width <= room;
    }""")
    assert fits


def test_a_file_downloads_from_the_sidebar(viewer, logdir):
    append(logdir / "app.log", "one", "two")
    page = viewer.open().page
    link = page.locator('#tree li.file[data-path="app.log"] a[download]')
    link.wait_for()
    assert link.get_attribute("href") == "api/download/app.log"
    with page.expect_download() as info:
        link.click()
    assert Path(info.value.path()).read_bytes() == b"one\ntwo\n"
    assert page.evaluate("window.__logstream.streams") == 0  # downloading opens no stream


def test_the_directory_name_stays_after_signing_in(new_page, logserver, logdir):
    append(logdir / "app.log", "x")
    server = logserver(logdir, "--token", "correct-horse-battery")
    page = new_page()
    Viewer(page, server).open()
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#token", "correct-horse-battery")
    page.keyboard.press("Enter")
    page.wait_for_selector("#login", state="hidden")
    page.wait_for_function("(name) => document.getElementById('root-name').textContent === name", arg=logdir.name)
    assert server.json("/healthz")[1]["root"] is None  # still nothing for a stranger


def test_the_demo_opens_its_main_log_at_once(new_page, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "logstream", "demo", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        line = ""
        while "serving" not in line:
            line = proc.stdout.readline().decode()
            assert line or proc.poll() is None, "the demo did not start"
            assert time.monotonic() < deadline, "the demo did not start in time"
        url = "http://" + line.split("http://", 1)[1].strip()
        page = new_page()
        page.goto(url)
        viewer = Viewer(page, None)
        viewer.wait_count(20)
        viewer.wait_state("live")
        assert page.get_attribute("#chips .chip", "data-path") == "app.log"
        assert "#file=app.log" in page.url
        # A chosen view wins: a link to another file opens that one.
        page.goto(url + "#file=access.log")
        page.reload()
        page.wait_for_function("() => document.querySelector('#chips .chip')?.dataset.path === 'access.log'")
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
