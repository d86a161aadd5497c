"""Browser fixtures for the viewer tests: Debian's Chromium driven by Playwright's
sync API (never ``playwright install``), one browser per session, a fresh context
per test. A failing test leaves a screenshot, the page's console and its DOM in
``test-artifacts/viewer/`` (or ``$LOGSTREAM_ARTIFACTS``). Waits are DOM conditions
with deadlines (``page.wait_for_function``), never fixed sleeps."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("LOGSTREAM_ARTIFACTS", ROOT / "test-artifacts" / "viewer"))
SCREENSHOTS = ROOT / "docs" / "screenshots"

# JavaScript snippets the tests share.
LINE_TEXTS = "() => Array.from(document.querySelectorAll('#lines .ln > .tx'), e => e.textContent)"
LINE_COUNT = "() => document.querySelectorAll('#lines .ln').length"
# The texts of the lines a link, a search hit or a time opened the view at (history.js marks them .target).
TARGETS = "() => Array.from(document.querySelectorAll('#lines .ln.target > .tx'), e => e.textContent)"
# Times every key press's wait for the page (window.__lat, ms) and the longest task (window.__longest).
INPUT_PROBE = """() => {
    window.__lat = [];
    document.addEventListener('keydown', e => window.__lat.push(performance.now() - e.timeStamp), true);
    window.__longest = 0;
    new PerformanceObserver(l => { for (const e of l.getEntries())
        window.__longest = Math.max(window.__longest, e.duration); }).observe({type: 'longtask'});
}"""


_shared: dict = {}  # one Playwright and one browser for the whole session


@pytest.fixture(scope="session")
def browser() -> Browser:
    """The session's Chromium. Each viewer test module imports this fixture, so
    pytest holds one definition per module: they all share one browser (two
    sync Playwrights cannot run at once), closed by the first teardown."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian's chromium is required for the viewer tests: apt-get install chromium")
    if "browser" not in _shared:
        _shared["playwright"] = sync_playwright().start()
        _shared["browser"] = _shared["playwright"].chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield _shared["browser"]
    if "browser" in _shared:
        _shared.pop("browser").close()
        _shared.pop("playwright").stop()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


@pytest.fixture
def new_page(browser, request):
    """Factory: ``new_page(viewport=..., color_scheme=...)`` → a Page in a fresh
    context. Pages that hit a JavaScript error fail the test; on failure each page
    leaves its screenshot, console and DOM in the artifacts directory."""
    contexts = []
    failed_before = request.session.testsfailed
    records = []

    def make(viewport=None, color_scheme="light", permissions=(), **kw) -> Page:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, color_scheme=color_scheme,
                                      **kw)
        if permissions:
            context.grant_permissions(list(permissions))
        contexts.append(context)
        page = context.new_page()
        log: list[str] = []
        errors: list[str] = []
        page.on("console", lambda m: log.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(10_000)
        records.append((page, log, errors))
        return page

    yield make
    failed = request.session.testsfailed > failed_before
    errors = [e for _, _, errs in records for e in errs]
    if failed or errors:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, (page, log, errs) in enumerate(records):
            stem = ARTIFACTS / f"{_safe(request.node.name)}-{i}"
            try:
                page.screenshot(path=f"{stem}.png", full_page=True)
                Path(f"{stem}.html").write_text(page.content())
            except Exception as exc:  # the page may be gone; the console still helps
                log.append(f"(no screenshot: {exc})")
            Path(f"{stem}.console.txt").write_text("\n".join(log + [f"pageerror: {e}" for e in errs]))
    for context in contexts:
        context.close()
    if errors and not failed:
        pytest.fail(f"JavaScript errors on the page: {errors}")


@pytest.fixture
def viewer(new_page, server):
    """The viewer of the test's server (conftest's ``server``) in a fresh page."""
    return Viewer(new_page(), server)


class Viewer:
    """A page showing the viewer of one server, with the waits the tests share."""

    def __init__(self, page: Page, server) -> None:
        self.page = page
        self.server = server

    def open(self, hash: str = "") -> Viewer:
        self.page.goto(f"{self.server.url}/{('#' + hash) if hash else ''}")
        self.page.wait_for_selector("#status[data-state]")
        return self

    def texts(self) -> list[str]:
        return self.page.evaluate(LINE_TEXTS)

    def count(self) -> int:
        return self.page.evaluate(LINE_COUNT)

    def wait_texts(self, expected: list[str], timeout: float = 10) -> None:
        """Until the view shows exactly ``expected`` (in order)."""
        try:
            self.page.wait_for_function(f"(want) => JSON.stringify(({LINE_TEXTS})()) === JSON.stringify(want)",
                                        arg=expected, timeout=timeout * 1000, polling=50)
        except Exception:
            got = self.texts()
            raise AssertionError(f"view shows {len(got)} lines, wanted {len(expected)}; "
                                 f"first difference: {_first_difference(got, expected)}") from None

    def wait_count(self, n: int, timeout: float = 10) -> None:
        self.page.wait_for_function(f"(n) => ({LINE_COUNT})() >= n", arg=n, timeout=timeout * 1000, polling=50)

    def wait_state(self, *states: str, timeout: float = 10) -> str:
        self.page.wait_for_function("(s) => s.includes(document.getElementById('status').dataset.state)",
                                    arg=list(states), timeout=timeout * 1000, polling=50)
        return self.page.get_attribute("#status", "data-state")

    def status_text(self) -> str:
        return self.page.inner_text("#status-text")

    def at_bottom(self) -> bool:
        return self.page.evaluate("() => { const s = document.getElementById('scroller');"
                                  " return s.scrollHeight - s.scrollTop - s.clientHeight < 24; }")


def _first_difference(got: list[str], want: list[str]) -> str:
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"at {i}: got {a!r}, wanted {b!r}"
    if len(got) > len(want):
        return f"extra lines from {len(want)}: {got[len(want):len(want) + 3]!r}"
    return f"missing lines from {len(got)}: {want[len(got):len(got) + 3]!r}"


def save_screenshot(page: Page, name: str) -> Path:
    """Save a documentation screenshot: to docs/screenshots/ when
    UPDATE_SCREENSHOTS=1 (then commit them), else to the artifacts directory so a
    plain test run leaves the tree clean."""
    target = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else ARTIFACTS / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path))
    return path
