"""The sidebar with 100,000 files in 1,000 folders (issue 15): Debian's Chromium
opens the viewer on such a tree, then the reader types file-name filters at
ten keys a second (and erases them) while the probes of bench/chromium.py time
every key press: how long it waited for the main thread, and how long until
the frame after it (the list filtered and drawn). A benchmark, not a test: it
prints the time until the list was shown, the DOM's size in the sidebar, and
the probes' p50/p95/worst (target: p95 <= 50 ms).

    .venv/bin/python bench/viewer_files.py [--folders 1000] [--per-folder 100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from chromium import dom_elements, start_probe, stop_probe, summary, viewer_page

# What the reader types: a deep file's name bit by bit, a folder, a suffix.
TYPED = ["svc-042/node-7/f-0099", "node-3", "0042.log", "f-00"]


def make_tree(root: Path, folders: int, per_folder: int) -> None:
    """``folders`` folders as svc-NNN/node-N (ten nodes a service), ``per_folder`` small files in each."""
    for d in range(folders):
        folder = root / f"svc-{d // 10:03d}" / f"node-{d % 10}"
        folder.mkdir(parents=True)
        for i in range(per_folder):
            (folder / f"f-{i:04d}.log").write_bytes(b"x\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", type=int, default=1000)
    parser.add_argument("--per-folder", type=int, default=100)
    parser.add_argument("--typed", nargs="+", default=TYPED, help="what to type (and erase), in turn")
    args = parser.parse_args()
    total = args.folders * args.per_folder
    with viewer_page("viewer-files", lambda root: make_tree(root, args.folders, args.per_folder)) as (_, server, page):
        started = time.monotonic()
        page.goto(f"{server.url}/")
        page.wait_for_function("(n) => document.getElementById('file-count').textContent.startsWith(`${n} file`)",
                               arg=total, timeout=300_000, polling=100)
        page.wait_for_function("() => document.querySelector('#tree li.dir, #tree li.file') !== null",
                               timeout=300_000)
        shown = time.monotonic() - started
        elements = dom_elements(page, "#tree")
        print(f"{total} files in {args.folders} folders: listed {shown:.1f} s after opening the page; "
              f"{elements} elements in the sidebar", flush=True)
        most = elements
        start_probe(page)
        page.click("#file-filter")
        for text in args.typed:
            page.keyboard.type(text, delay=100)
            most = max(most, dom_elements(page, "#tree"))
            for _ in text:
                page.keyboard.press("Backspace", delay=100)
        stop_probe(page)
        print(f"filtering: at most {most} elements in the sidebar; {sum(map(len, args.typed)) * 2} keys typed: "
              f"{summary(page)}")


if __name__ == "__main__":
    main()
