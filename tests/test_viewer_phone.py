"""The viewer on a 390×844 phone, in a real Chromium with touch: nothing clipped,
every text fits, nothing lies under anything else, the file tabs stay whole, merged
lines wrap under a narrow file label, and the words fit the device (tap, no Ctrl,
no "press /") (issue 17)."""

from __future__ import annotations

import pytest

import browser as fixtures
from browser import Viewer, save_screenshot
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page

PHONE = {"width": 390, "height": 844}

# Every visible control and text of the page's frame: [selector, rect, fits] where
# `fits` is false when the text is wider than its box (cut or hidden), and the
# pairs of controls that overlap. The filter box counts as one control (its
# option buttons sit inside it by design).
LAYOUT = """() => {
    const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && el.closest('[hidden]') === null; };
    const name = (el) => el.id ? '#' + el.id : (el.getAttribute('aria-label') || el.className || el.tagName);
    const inView = (r) => r.left >= -0.5 && r.right <= innerWidth + 0.5
                          && r.top >= -0.5 && r.bottom <= innerHeight + 0.5;
    const texts = Array.from(document.querySelectorAll(
        'header *, .toolbar *, .statusbar *, #empty p, #filter-error span, .chip-name, .jump'))
        .filter(el => visible(el) && el.children.length === 0 && el.textContent.trim()
                      && !el.classList.contains('sr-only'));
    const problems = [];
    for (const el of texts) {
        const r = el.getBoundingClientRect();
        if (!inView(r)) problems.push(['outside the screen', name(el), el.textContent]);
        if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== 'inline')
            problems.push(['text cut', name(el), el.textContent]);
    }
    const controls = Array.from(document.querySelectorAll(
        'header button, header a, .toolbar button, .toolbar select, .statusbar select, #filter-form'))
        .filter(el => visible(el) && !(el.closest('#filter-form') && el.id !== 'filter-form'));
    for (const el of controls) if (!inView(el.getBoundingClientRect())) problems.push(['outside the screen', name(el)]);
    for (let i = 0; i < controls.length; i++) for (let j = i + 1; j < controls.length; j++) {
        const a = controls[i].getBoundingClientRect(), b = controls[j].getBoundingClientRect();
        if (controls[i].contains(controls[j]) || controls[j].contains(controls[i])) continue;
        const overlap = Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1
                     && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
        if (overlap) problems.push(['overlap', name(controls[i]), name(controls[j])]);
    }
    return problems;
}"""


@pytest.fixture
def phone(new_page, server):
    return Viewer(new_page(viewport=PHONE, has_touch=True, is_mobile=True), server)


def layout_problems(page) -> list:
    return page.evaluate(LAYOUT)


def follow(phone, logdir, name: str, lines: list[str]):
    """Write `lines` to `name`, open it on the phone and wait until it is shown and live."""
    append(logdir / name, *lines)
    page = phone.open(f"file={name}").page
    phone.wait_count(len(lines))
    phone.wait_state("live")
    return page


def test_the_phone_speaks_touch_not_keyboard(phone, logdir):
    append(logdir / "app.log", "x")
    page = phone.open().page
    page.wait_for_selector("#empty:not([hidden])")
    page.wait_for_function("() => document.getElementById('empty').innerText.includes('No file open')")
    text = page.inner_text("#empty")
    assert "Tap" in text and "Ctrl" not in text and "click" not in text.lower() and "left" not in text
    placeholder = page.get_attribute("#filter", "placeholder")
    assert placeholder == "Filter lines"
    assert page.is_hidden("#help-open")
    assert layout_problems(page) == []
    save_screenshot(page, "phone-empty-light")


def test_a_single_file_tab_is_whole_with_its_buttons(phone, logdir):
    page = follow(phone, logdir, "payments-service.log",
                  [f"2026-11-30T04:25:{i:02d}Z INFO request {i} handled" for i in range(30)])
    for control in ["#chips .chip-name", '#chips a[download]', '#chips button[aria-label^="Close"]']:
        box = page.locator(control).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], control
    assert layout_problems(page) == []


def test_a_merged_view_keeps_every_tab_whole_and_wraps_its_lines(phone, logdir):
    (logdir / "worker").mkdir()
    long_tail = "and a message long enough to need more than one line on a phone"
    append(logdir / "access.log", *[f'10.0.0.{i} - - [30/Nov/2026:04:25:{i:02d} +0000] "GET /api/orders/{i} '
                                    'HTTP/1.1" 200' for i in range(10)])
    append(logdir / "app.log", *[f"2026-11-30T04:25:{i:02d}Z INFO order {i} placed {long_tail}" for i in range(10)])
    append(logdir / "worker" / "jobs.log", *[f"2026-11-30T04:25:{i:02d}Z INFO job {i} done" for i in range(10)])
    page = phone.open("file=access.log&file=app.log&file=worker/jobs.log").page
    phone.wait_count(30)
    phone.wait_state("live")
    # Every tab whole: name, download and close, none under the status pill.
    names = page.evaluate("() => Array.from(document.querySelectorAll('#chips .chip-name'),"
                          " e => [e.textContent, e.scrollWidth <= e.clientWidth])")
    assert names == [["access.log", True], ["app.log", True], ["worker/jobs.log", True]]
    assert layout_problems(page) == []
    # Lines wrap (no sideways scrolling) and the file label takes a small part of the width.
    scroller = page.evaluate("() => { const s = document.getElementById('scroller');"
                             " return [s.scrollWidth, s.clientWidth]; }")
    assert scroller[0] <= scroller[1]
    label = page.locator("#lines .ln .src").first.bounding_box()
    assert label["width"] <= PHONE["width"] * 0.25
    line = page.locator("#lines .ln", has_text=long_tail).first
    one_line = page.locator("#lines .ln", has_text="job 0 done").first.bounding_box()["height"]
    assert line.bounding_box()["height"] > 1.5 * one_line
    assert long_tail in line.inner_text()
    save_screenshot(page, "phone-merged-light")


def test_paused_reconnecting_and_a_bad_filter_still_fit(phone, logdir):
    page = follow(phone, logdir, "app.log", [f"line {i}" for i in range(20)])
    page.click("#pause")
    append(logdir / "app.log", *[f"held {i}" for i in range(1234)])
    page.wait_for_function("() => document.getElementById('pause-count').textContent === '1,234'")
    assert layout_problems(page) == []
    page.click("#pause")
    page.click("#opt-regex")
    page.fill("#filter", "line(")
    page.keyboard.press("Enter")
    page.wait_for_selector("#filter-error:not([hidden])")
    assert layout_problems(page) == []
    page.fill("#filter", "")
    page.keyboard.press("Enter")
    phone.wait_state("live")
    phone.server.stop()
    phone.wait_state("reconnecting")
    page.wait_for_function("() => /Reconnecting · \\d+s/.test(document.getElementById('status-text').textContent)")
    assert layout_problems(page) == []


def test_a_touch_tablet_says_tap_with_its_list_on_the_left(new_page, server, logdir):
    append(logdir / "app.log", "x")
    page = new_page(viewport={"width": 1024, "height": 768}, has_touch=True, is_mobile=True)
    Viewer(page, server).open()
    page.wait_for_function("() => document.getElementById('empty').innerText.includes('No file open')")
    text = page.inner_text("#empty")
    assert "Tap a file on the left" in text and "Ctrl" not in text
    assert page.is_visible("#sidebar")
    assert page.get_attribute("#filter", "placeholder") == "Filter lines"
