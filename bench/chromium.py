"""chromium: what the viewer benchmarks share (bench/viewer_*.py): the real
server on a temporary directory, Debian's Chromium through Playwright (never
``playwright install``), and the input probe of tests/browser.py, summarised.

A key press's round trip is ``performance.now() - event.timeStamp`` in a
capturing keydown listener: how long the press waited for the main thread (the
probe of tests/test_viewer.py). Key presses are few (five a second), so a
second probe samples the main thread every 20 ms: a message posted on a
MessageChannel and timed until its handler runs (window.__rt, ms), which waits
behind whatever script, style, layout or paint is under way. The longest task
comes from the Long Tasks API (tasks over 50 ms only; 0 means none was that
long).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from browser import CHROMIUM_ARGS, INPUT_PROBE  # noqa: E402
from conftest import Server  # noqa: E402


@contextlib.contextmanager
def viewer_page(prefix: str, setup, *server_args: str) -> Iterator[tuple[Path, Server, Page]]:
    """A log directory (``setup(root)`` fills it), the server on it and a
    1280×800 Chromium page, all removed on exit. Yields (root, server, page)."""
    root = Path(tempfile.mkdtemp(prefix=f"logstream-{prefix}-"))
    setup(root)
    server = Server(root, server_args, 0, None, ())
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            yield root, server, browser.new_page(viewport={"width": 1280, "height": 800})
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


ROUND_TRIP_PROBE = """() => {
    window.__rt = [];
    const ch = new MessageChannel();
    ch.port1.onmessage = (e) => window.__rt.push(performance.now() - e.data);
    window.__rtTimer = setInterval(() => ch.port2.postMessage(performance.now()), 20);
}"""


# The time from a key press to the first task after the frame that follows
# its handlers (window.__paint, ms): what the reader waits to see the result.
NEXT_PAINT_PROBE = """() => {
    window.__paint = [];
    document.addEventListener('keydown', (e) => requestAnimationFrame(() => setTimeout(() =>
        window.__paint.push(performance.now() - e.timeStamp))), true);
}"""


def start_probe(page: Page) -> None:
    """Time every key press from now on (window.__lat, ms) and until the frame
    after it (window.__paint, ms), the main thread's round trip every 20 ms
    (window.__rt, ms) and the longest task."""
    page.evaluate(INPUT_PROBE)
    page.evaluate(ROUND_TRIP_PROBE)
    page.evaluate(NEXT_PAINT_PROBE)


def stop_probe(page: Page) -> None:
    """Stop the 20 ms sampling (before the page's figures are read)."""
    page.evaluate("() => clearInterval(window.__rtTimer)")


def dom_elements(page: Page, selector: str) -> int:
    """Elements under ``selector`` (the whole subtree, itself excluded)."""
    return page.evaluate("(s) => document.querySelectorAll(s + ' *').length", selector)


def _percentiles(values: list[float]) -> str:
    v = sorted(values)
    return (f"p50 {v[len(v) // 2]:.1f} ms, p95 {v[max(0, int(len(v) * 0.95) - 1)]:.1f} ms, "
            f"worst {v[-1]:.1f} ms ({len(v)})")


def worst(page: Page) -> float:
    """The worst round trip seen by either probe, ms."""
    return max(page.evaluate("window.__lat.concat(window.__rt)") or [0])


def summary(page: Page) -> str:
    """The probes' p50, p95 and worst (with the sample counts) and the longest task."""
    lat, rt, paint = page.evaluate("[window.__lat, window.__rt, window.__paint]")
    return (f"key press waited {_percentiles(lat) if lat else 'none timed'}; key press to next frame "
            f"{_percentiles(paint) if paint else 'none timed'}; main-thread round trip every 20 ms "
            f"{_percentiles(rt) if rt else 'none timed'}; longest task {page.evaluate('window.__longest'):.0f} ms")


def write_paced(path: Path, rate: int, seconds: float, line: Callable[[int], bytes], done: threading.Event,
                written: list[int]) -> None:
    """Append ``line(i)`` for i from ``written[0]`` on, ``rate`` lines per second
    for ``seconds``, in 10 ms batches (one write each); ``written[0]`` counts
    them as they go and ``done`` is set at the end (run it in a thread)."""
    start = time.monotonic()
    total = int(rate * seconds)
    with open(path, "ab", buffering=0) as f:
        while written[0] < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            if due > written[0]:
                f.write(b"".join(line(i) for i in range(written[0], due)))
                written[0] = due
            time.sleep(0.01)
    done.set()


def press_while_writing(page: Page, path: Path, rate: int, seconds: float, line: Callable[[int], bytes],
                        first: int, measure: str) -> tuple[int, int]:
    """Write ``line(first…)`` to ``path`` at ``rate`` lines/s for ``seconds``
    (write_paced, in a thread) while pressing Shift five times a second and
    evaluating ``measure`` (JavaScript returning a number) after each press.
    Returns (lines written, counting ``first``; the largest measure)."""
    done, written = threading.Event(), [first]
    writer = threading.Thread(target=write_paced, args=(path, rate, seconds, line, done, written))
    writer.start()
    most = 0
    while not done.wait(0.2):
        page.keyboard.press("Shift")
        most = max(most, page.evaluate(measure))
    writer.join()
    return written[0], most


class MainThreadCpu:
    """The page's main-thread CPU time (Chrome's Performance.getMetrics
    ThreadTime, s) and its task, script, style and layout durations between
    start() and stop(): a figure that CPU contention from other processes
    moves far less than round trips do."""

    NAMES = ("ThreadTime", "TaskDuration", "ScriptDuration", "RecalcStyleDuration", "LayoutDuration")

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")
        self.before: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        return {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> str:
        after = self._read()
        return ", ".join(f"{n} {after[n] - self.before[n]:.2f} s" for n in self.NAMES)
