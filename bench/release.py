"""release: how soon a server gives back what an idle stream held once its client
closes the connection (issue 12, item 8): the admission slot, the descriptor and
the subscription.

    .venv/bin/python bench/release.py [--clients 1000] [--rounds 5]

Starts ``python -m logstream`` on a temporary directory with a 60 s heartbeat (so
the heartbeat cannot be what notices), opens N idle SSE streams on one file, closes
them all at once, and times until ``/metrics`` shows no open stream (polled every
2 ms). Loopback only; every loop bounded in count and time. Prints one JSON line
per round and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def open_streams(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /api/stream/app.log?lines=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    for s in socks:  # the response head and retry: means the stream is open and idle
        data = b""
        while b"retry:" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("stream refused or closed")
            data += chunk
    return socks


def open_count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        m = re.search(rb"^logstream_open_streams (\S+)$", r.read(), re.MULTILINE)
    return int(float(m.group(1)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "app.log"), "w") as f:
            f.write("one line\n")
        proc = subprocess.Popen([sys.executable, "-m", "logstream", root, "--port", "0", "--heartbeat", "60"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = proc.stdout.readline()
            port = int(re.search(r":(\d+)/", line).group(1))
            times = []
            for n in range(args.rounds):
                socks = open_streams(port, args.clients)
                assert open_count(port) == args.clients
                start = time.perf_counter()
                for s in socks:
                    s.close()
                deadline = start + 30
                while open_count(port) and time.perf_counter() < deadline:
                    time.sleep(0.002)
                elapsed = (time.perf_counter() - start) * 1000
                times.append(elapsed)
                print(json.dumps({"round": n, "clients": args.clients, "all_released_ms": round(elapsed, 1)}))
            print(json.dumps({"clients": args.clients, "median_all_released_ms": round(statistics.median(times), 1),
                              "max_ms": round(max(times), 1)}))
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
