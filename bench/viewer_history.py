"""The viewer looking back (issue 13): Debian's Chromium follows a file whose
history is two files (``app.log.1``, then ``app.log``, ``--mb`` MiB in all),
then scrolls to the top ``--pages`` times and times each older page, from the
scroll to the moment the page is drawn above (the fetch of
``api/lines?before=`` and the DOM work), and opens links to lines deep in the
rotated file, from the hash change to the line highlighted. With ``--merged``
the view also follows ``b.log`` (as many MiB, the same timestamps), merged, so
each older page is a page of each file merged by time (web/mergedhistory.js).
A benchmark, not a test: it prints the numbers, and the window's size (it must
stay bounded).

    .venv/bin/python bench/viewer_history.py [--mb 64] [--pages 30] [--links 10] [--merged]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from chromium import viewer_page

FIRST = "() => document.querySelector('#lines .ln > .tx')?.textContent"


def write(path: Path, mib: float, start: int) -> int:
    """About ``mib`` MiB of numbered, stamped lines; the number after the last one."""
    n, size = start, 0
    with open(path, "w") as f:
        while size < mib * 1024 * 1024:
            chunk = "".join(f"2026-11-30T04:{(i // 60) % 60:02d}:{i % 60:02d}Z INFO request {i:09d} handled in "
                            f"{i % 250} ms path=/api/orders/{i % 977}\n" for i in range(n, n + 10000))
            f.write(chunk)
            size += len(chunk)
            n += 10000
    return n


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    return (f"{name}: n={len(ms)} median {statistics.median(ms):.1f} ms, "
            f"p95 {ms[min(len(ms) - 1, int(len(ms) * 0.95))]:.1f} ms, max {ms[-1]:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=64, help="MiB of history, half rotated (default 64)")
    ap.add_argument("--pages", type=int, default=30, help="older pages to load (default 30)")
    ap.add_argument("--links", type=int, default=10, help="links to open (default 10)")
    ap.add_argument("--merged", action="store_true", help="follow b.log too, merged with app.log")
    args = ap.parse_args()
    rotated = []  # lines in app.log.1

    def setup(root: Path) -> None:
        rotated.append(write(root / "app.log", args.mb / 2, 0))
        os.rename(root / "app.log", root / "app.log.1")
        write(root / "app.log", args.mb / 2, rotated[0])
        if args.merged:
            write(root / "b.log", args.mb, 0)

    with viewer_page("history", setup, "--heartbeat", "1") as (root, server, page):
        page.goto(f"{server.url}/#file=app.log{'&file=b.log' if args.merged else ''}&max=5000")
        page.wait_for_function("() => document.querySelectorAll('#lines .ln').length >= 1000")
        pages = []
        for _ in range(args.pages):  # timed in the page: from the scroll to the frame that shows the page
            pages.append(page.evaluate(f"""() => new Promise((done) => {{
                const first = {FIRST}, was = first(), t0 = performance.now();
                document.getElementById('scroller').scrollTop = 0;
                const poll = () => (first() !== was ? done(performance.now() - t0)
                                                    : requestAnimationFrame(poll));
                requestAnimationFrame(poll);
            }})"""))
        entries = page.evaluate("() => document.querySelectorAll('#lines .ln, #lines .sep').length")
        # The fetch's part: the Resource Timing of each api/lines?before= request.
        fetches = page.evaluate("""() => performance.getEntriesByType('resource')
            .filter(e => e.name.includes('api/lines/') && e.name.includes('before=')).map(e => e.duration)""")
        # Ids are positions (README "Events"): the inode of app.log.1 and the offset past a line.
        ino = f"{os.stat(root / 'app.log.1').st_ino:x}"
        ends = []
        with open(root / "app.log.1", "rb") as f:
            data = f.read()
        step = max(1, data.count(b"\n") // (args.links + 1))
        pos, n = 0, 0
        while len(ends) < args.links:
            pos = data.index(b"\n", pos) + 1
            n += 1
            if n % step == 0:
                ends.append(pos)
        del data
        links = []
        for end in ends:
            t0 = time.perf_counter()
            page.goto(f"{server.url}/#file=app.log&at={ino}-{end}")
            page.wait_for_selector("#lines .ln.target")
            links.append((time.perf_counter() - t0) * 1000)
    print(f"history: {args.mb:g} MiB in app.log.1 and app.log ({rotated[0]:,} lines rotated)"
          f"{f', merged with {args.mb:g} MiB of b.log' if args.merged else ''}, window 5,000")
    print(summary("older page of 200 (scroll to drawn)", pages))
    print(summary("  of which the fetch of api/lines?before=", fetches))
    print(summary("open a line link (hash change to highlighted)", links))
    print(f"window after {args.pages} pages: {entries} entries (bound 5,000)")

if __name__ == "__main__":
    main()
