"""idle_memory: what one idle SSE stream holds in the server, by allocation site.

    .venv/bin/python bench/idle_memory.py [--connections 1000] [--top 25]

One process: gevent patched as ``logstream`` patches it, the real server
(``logstream.server.serve``: the Listener, the Handler, Flask, the local source) on
a loopback port over a temporary directory with one file, and ``--connections``
clients (gevent sockets in the same process) that each open
``/api/stream/app.log?lines=0``, read the response head and the opening ``retry:``
and then stay idle. ``tracemalloc`` (25 frames) is snapshotted before the clients
connect and once they are all idle; the difference, without what this file's own
client code allocated, divided by the connections, is what one idle stream holds,
grouped by the innermost frame of logstream, gevent, greenlet, werkzeug or flask
code (the saved C stack of a parked greenlet is allocated by greenlet through
``PyMem_Malloc`` and is traced at the switch that saved it).

Prints one JSON object: bytes per connection in all, whether that is within issue
15's 10 KB per idle stream (``within_target``), and the top sites. RSS per
connection is scenario E of ``bench/run.py`` (its report checks the same 10 KB);
this says what makes it up. An idle stream is parked (``logstream/parking.py``): no
greenlet, no request state.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all(queue=False)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from logstream.config import Config  # noqa: E402
from logstream.server import serve  # noqa: E402

HERE = os.path.abspath(__file__)
KEEP = ("logstream", "gevent", "greenlet", "werkzeug", "flask")
TARGET = 10 * 1024  # bytes per idle stream (issue 15: 10 KB of RSS each at 10,000 held)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def idle_client(port: int, opened: list) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /api/stream/app.log?lines=0 HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"retry:" not in data:
        data += sock.recv(4096)
    opened.append(sock)


def site(trace) -> str:
    """The innermost frame in server code, or the outermost if none."""
    for frame in reversed(trace.traceback):  # most recent last
        if any(f"/{name}/" in frame.filename for name in KEEP):
            path = frame.filename
            for name in KEEP:
                cut = path.rfind(f"/{name}/")
                if cut >= 0:
                    path = path[cut + 1:]
                    break
            return f"{path}:{frame.lineno}"
    frame = trace.traceback[-1]
    return f"{os.path.basename(frame.filename)}:{frame.lineno}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="idle-memory-"))
    (root / "app.log").write_text("hello\n")
    port = free_port()
    config = Config(root=root, port=port, host="127.0.0.1", heartbeat=3600)
    ready = gevent.event.Event()
    stopper: list = []
    server = gevent.spawn(serve, config, lambda runtime, stop: (stopper.append(stop), ready.set()))
    ready.wait(30)
    opened: list = []
    idle_client(port, opened)  # a warm-up client: first-use allocations are not per connection
    opened.pop().close()
    gevent.sleep(0.5)
    tracemalloc.start(25)
    before = tracemalloc.take_snapshot()
    gevent.joinall([gevent.spawn(idle_client, port, opened) for _ in range(args.connections)], timeout=120)
    gevent.sleep(1)  # every stream parked
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    n = len(opened)
    sizes: dict[str, int] = {}
    total = 0
    for stat in after.compare_to(before, "traceback"):
        if any(frame.filename == HERE for frame in stat.traceback):
            continue  # the clients' own sockets and buffers
        total += stat.size_diff
        key = site(stat)
        sizes[key] = sizes.get(key, 0) + stat.size_diff
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[: args.top]
    print(json.dumps({"connections": n, "bytes_per_connection": round(total / n),
                      "within_target": total / n <= TARGET,
                      "sites": [{"site": k, "bytes_per_connection": round(v / n)} for k, v in top]}, indent=1))
    for sock in opened:
        sock.close()
    if stopper:
        stopper[0]()
    server.join(10)


if __name__ == "__main__":
    main()
