"""files_index: the file list of a big tree (issue 15): 100,000 files in 1,000
directories by default.

    .venv/bin/python bench/files_index.py [--dirs 1000] [--per-dir 100] [--repeat 10]
                                          [--repo DIR]   # another checkout's server, to compare

Builds the tree in a temporary directory (files of ~30 bytes), starts one server on
it (``python -m logstream TREE --port 0``, from ``--repo`` or this checkout) and
measures, over loopback, with the server otherwise idle:

- ``GET /api/files``: the whole list, wall time to the last byte, median and max of
  ``--repeat`` requests (the first, which may wait for the first walk, apart);
- the same with ``?prefix=DIR/``, ``?q=SUBSTRING&limit=200``;
- ``/api/files/events``: time to the end of the first ``snapshot`` event;
- a file created 3 directories deep: time until its ``created`` event arrives on a
  file-events stream opened before, and until ``GET /api/files`` lists it;
- the server's RSS (``VmRSS``) on the empty directory and on the tree: the
  difference is what the list costs in memory.

Prints one JSON object. Loopback only, bounded in count and time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procstat  # noqa: E402
from servers import REPO, Logstream  # noqa: E402


def build(root: str, dirs: int, per_dir: int) -> None:
    for d in range(dirs):
        path = os.path.join(root, f"svc-{d // 100:02d}", f"host-{d:04d}")
        os.makedirs(path)
        for f in range(per_dir):
            with open(os.path.join(path, f"app-{f:03d}.log"), "w") as out:
                out.write(f"line of {d}/{f}\n")


def get(port: int, target: str) -> tuple[float, bytes]:
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", target)
        body = conn.getresponse().read()
    finally:
        conn.close()
    return time.perf_counter() - t, body


def times(port: int, target: str, repeat: int) -> dict:
    got = [get(port, target) for _ in range(repeat)]
    secs = sorted(t for t, _ in got)
    return {"median_ms": round(statistics.median(secs) * 1000, 2), "max_ms": round(secs[-1] * 1000, 2),
            "bytes": len(got[-1][1])}


class Events:
    """A raw ``/api/files/events`` reader."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.sendall(b"GET /api/files/events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.buf = b""

    def until(self, needle: bytes, deadline: float) -> float:
        """Read until ``needle`` is in what came (the stream is chunked: a needle must
        not span a chunk's framing; ``}\n\n`` ends the snapshot, whose JSON holds no
        line break); returns when (perf_counter)."""
        while needle not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.perf_counter()))
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("events stream ended")
            self.buf += data
        return time.perf_counter()

    def close(self) -> None:
        self.sock.close()


def run_server(repo: str, root: str) -> Logstream:
    server = Logstream(root, os.path.join(root, "x"))
    server.repo = repo
    server.start(timeout=120)
    return server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dirs", type=int, default=1000)
    ap.add_argument("--per-dir", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--repo", default=REPO, help="the checkout whose server is measured")
    args = ap.parse_args()
    out: dict = {"files": args.dirs * args.per_dir, "dirs": args.dirs, "repo": args.repo}
    empty = tempfile.mkdtemp(prefix="files-index-empty-")
    root = tempfile.mkdtemp(prefix="files-index-")
    try:
        server = run_server(args.repo, empty)
        try:
            get(server.port, "/api/files")
            out["rss_empty_kb"] = procstat.status_kb(server.pid, "VmRSS")
        finally:
            server.stop()
        t = time.perf_counter()
        build(root, args.dirs, args.per_dir)
        out["build_s"] = round(time.perf_counter() - t, 1)
        server = run_server(args.repo, root)
        try:
            t = time.perf_counter()
            secs, body = get(server.port, "/api/files")
            out["first_ms"] = round((time.perf_counter() - t) * 1000, 1)
            out["listed"] = len(json.loads(body)["files"])
            out["all"] = times(server.port, "/api/files", args.repeat)
            out["prefix"] = times(server.port, "/api/files?prefix=svc-03/host-0345/", args.repeat)
            out["q_limit"] = times(server.port, "/api/files?q=host-07&limit=200", args.repeat)
            snaps = []
            for _ in range(min(args.repeat, 5)):
                ev = Events(server.port)
                t = time.perf_counter()
                try:
                    snaps.append(ev.until(b"}\n\n", t + 30) - t)
                finally:
                    ev.close()
            out["snapshot"] = {"median_ms": round(statistics.median(snaps) * 1000, 2),
                               "max_ms": round(max(snaps) * 1000, 2)}
            out["rss_kb"] = procstat.status_kb(server.pid, "VmRSS")
            out["index_rss_kb"] = out["rss_kb"] - out["rss_empty_kb"]
            created = []
            for i in range(3):
                ev = Events(server.port)
                try:
                    ev.until(b"}\n\n", time.perf_counter() + 30)  # the snapshot
                    deep = os.path.join(root, "svc-05", "host-0512", f"deep-{i}", "a", "b")
                    os.makedirs(deep)
                    t = time.perf_counter()
                    with open(os.path.join(deep, "new.log"), "w") as f:
                        f.write("created\n")
                    seen = ev.until(f"deep-{i}/a/b/new.log".encode(), t + 10) - t
                    while f"deep-{i}/a/b/new.log".encode() not in get(server.port, "/api/files")[1]:
                        if time.perf_counter() - t > 10:
                            raise TimeoutError("never listed")
                    created.append((seen, time.perf_counter() - t))
                finally:
                    ev.close()
            out["created_event_ms"] = [round(a * 1000, 1) for a, _ in created]
            out["created_listed_ms"] = [round(b * 1000, 1) for _, b in created]
            out["server_cpu_s"] = round(procstat.cpu_seconds(server.pid), 2)
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(empty, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
