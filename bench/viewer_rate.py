"""The viewer's live pane at 5,000 lines/s (issue 15): Debian's Chromium follows
one file of text lines (a timestamp, a level word, an ANSI colour) while this
script presses a key five times a second and samples the main thread every
20 ms, timing how long each waited (bench/chromium.py). A benchmark, not a test: it prints the
round trip's p50, p95 and worst (target: worst <= 50 ms), the longest task, and
the most log-pane DOM elements seen, and the main thread's CPU time and its
script, style and layout durations (bench/chromium.py MainThreadCpu).

    .venv/bin/python bench/viewer_rate.py [--rate 5000] [--seconds 15]
"""

from __future__ import annotations

import argparse
import time

from chromium import MainThreadCpu, press_while_writing, start_probe, stop_probe, summary, viewer_page, worst


def text_line(i: int) -> bytes:
    """Line ``i``: a time, a level word, an ANSI colour, a payload."""
    stamp = time.strftime("%H:%M:%S").encode()
    return b"%s INFO rate line %07d \x1b[32mok\x1b[0m payload=abcdefghijklmnop\n" % (stamp, i)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    with viewer_page("viewer-rate", lambda root: (root / "app.log").write_bytes(b"start\n"),
                     "--heartbeat", "1") as (root, _server, page):
        page.goto(f"{_server.url}/#file=app.log")
        page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
        start_probe(page)
        cpu = MainThreadCpu(page)
        cpu.start()
        written, most = press_while_writing(page, root / "app.log", args.rate, args.seconds, text_line, 0,
                                            "() => document.querySelectorAll('#lines *').length")
        page.wait_for_function("(n) => window.__logstream.view.received >= n", arg=written + 1, timeout=60_000)
        used = cpu.stop()
        stop_probe(page)
        print(f"{written} lines at {args.rate}/s for {args.seconds:g} s: {summary(page)}; at most {most} "
              f"DOM elements in the log pane; {'OK' if worst(page) <= 50 else 'ABOVE'} the 50 ms target; "
              f"main thread: {used}")


if __name__ == "__main__":
    main()
