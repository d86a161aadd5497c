"""The viewer under 5,000 JSON lines/s (issue 14): Debian's Chromium follows a
file of JSON lines (every one parsed and drawn as fields, one in ten an error
with a nested object, a highlight rule on) while this script presses a key
five times a second and times how long each waited for the page, as
tests/test_viewer.py does for text lines. A benchmark, not a test: it prints
the numbers (target: input p95 <= 50 ms) and the DOM's size.

    .venv/bin/python bench/viewer_json.py [--rate 5000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from chromium import INPUT_PROBE, press_while_writing, viewer_page


def json_line(i: int) -> bytes:
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": "error" if i % 10 == 0 else "info",
              "msg": f"request {i} handled", "method": "GET", "path": f"/api/orders/{i % 977}", "status": 200,
              "ms": i % 250, "user": f"u-{i % 4096}", "ip": "10.0.4.7"}
    if i % 10 == 0:
        record["err"] = {"type": "GatewayTimeout", "after_ms": 2000, "stack": ["pay", "charge", "post"]}
    return json.dumps(record).encode() + b"\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()

    def setup(root: Path) -> None:
        (root / "app.json").write_bytes(json_line(0))

    with viewer_page("viewer-json", setup, "--heartbeat", "1") as (root, server, page):
        page.goto(f"{server.url}/#file=app.json&col=user&hl=blue%3A%5Cd%2B%5C.%5Cd%2B%5C.%5Cd%2B%5C.%5Cd%2B")
        page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
        page.evaluate(INPUT_PROBE)
        written, most = press_while_writing(page, root / "app.json", args.rate, args.seconds, json_line, 1,
                                            "() => document.querySelectorAll('#lines .ln').length")
        page.wait_for_function("(n) => window.__logstream.view.received >= n", arg=written, timeout=60_000)
        lat = sorted(page.evaluate("window.__lat"))
        p95 = lat[max(0, int(len(lat) * 0.95) - 1)]
        print(f"{written} JSON lines at {args.rate}/s for {args.seconds:g} s: input latency "
              f"p50 {lat[len(lat) // 2]:.1f} ms, p95 {p95:.1f} ms, max {lat[-1]:.1f} ms ({len(lat)} presses); "
              f"longest task {page.evaluate('window.__longest'):.0f} ms; at most {most} lines in the DOM; "
              f"{'OK' if p95 <= 50 else 'ABOVE'} the 50 ms target")

if __name__ == "__main__":
    main()
