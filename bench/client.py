"""client: N concurrent SSE clients in one asyncio process, measuring append→receive.

Talks to bench/run.py over stdin/stdout, one word a line:
  stdout: ``connected`` (every client has its response headers), ``ready`` (every
  client has received a ``warmup`` line, so its subscription is live), ``done``
  (every client has received all ``--expect`` lines, seq 0..expect-1), then after
  ``stop`` on stdin one JSON line with the results.

Parsing is real SSE. Each chunk is de-chunked (HTTP/1.1 chunked encoding), cut at
the last blank line, and the complete events are parsed with one C-level
``re.split`` whose gaps must be empty or comments/``retry:`` only; anything else
(control events, CR line ends, id-only events, a BOM) goes through the
spec-faithful ``logstream.sse.Parser``. Latencies go into a Counter of 10 µs
buckets filled with C-level ``map``.

``--observe K``: only the first K clients parse and measure; the others are sinks
that read every ``--sink-interval`` and only check that they got a warmup line and
the last line. At 1,000 clients × 1,000 lines/s, full parsing in every client would
need more CPU than the 2-core machine has beside the server.

``--stalled`` clients connect with a tiny SO_RCVBUF, send the request and never
read again (scenario G). ``--socketio NS`` makes them stalled socket.io clients of
frontail instead (websocket upgrade + namespace join, then silence).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import resource
import socket
import sys
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from logstream.sse import Parser  # noqa: E402

BUCKET_NS = 10_000  # histogram resolution: 10 µs
_bucket = BUCKET_NS.__rfloordiv__  # x -> x // BUCKET_NS, callable from C's map
# A line as writer.py writes it, as text or in its --json form.
_FAST = re.compile(rb"(?:id: ([^\n\r]*)\n)?data: (?:\{\"msg\":\")?seq=(\d+) t=(\d+)[^\n\r]*\n\n")
_BORING = re.compile(rb"(?::[^\n\r]*\n|retry: \d+\n|\n)*")
_LINE = re.compile(r"(?:\{\"msg\":\")?seq=(\d+) t=(\d+)")


class Stats:
    """Shared by every client of the process."""

    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.hist: Counter[int] = Counter()
        self.connected = 0
        self.ready = 0
        self.done = 0
        self.errors: Counter[str] = Counter()
        self.control: Counter[str] = Counter()
        self.first_event_s: list[float] = []
        self.last_recv_ns = 0
        self.event = asyncio.Event()

    def bump(self) -> None:
        self.event.set()


class SSEClient(asyncio.Protocol):
    def __init__(self, stats: Stats, request: bytes, started: float) -> None:
        self.stats = stats
        self.request = request
        self.started = started
        self.head = b""
        self.headers_done = asyncio.get_running_loop().create_future()
        self.chunked = False
        self.raw = b""  # undecoded chunked bytes
        self.chunk_left = 0  # bytes of the current chunk still to come
        self.buf = b""
        self.parser = Parser()
        self.last_id = ""
        self.next = 0  # all seqs < next seen exactly once, in order, none after
        self.seen: bytearray | None = None  # out-of-order mode
        self.dup = 0
        self.received = 0
        self.is_ready = False
        self.is_done = False
        self.got_first = False
        self.transport: asyncio.Transport | None = None
        self.target = 0  # backlog mode: set ``reached`` once this many lines came
        self.reached: asyncio.Future | None = None

    # --- asyncio plumbing
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.headers_done.done():
            self.headers_done.set_exception(ConnectionError(str(exc or "closed before headers")))
        elif not self.is_done:
            self.stats.errors["closed by server"] += 1
            self.stats.bump()

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        if not self.headers_done.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end].decode("latin-1"), self.head[end + 4 :]
            status = head.split("\r\n", 1)[0]
            if " 200 " not in status + " ":
                self.headers_done.set_exception(ConnectionError(status))
                self.transport.close()
                return
            self.chunked = "transfer-encoding: chunked" in head.lower()
            self.headers_done.set_result(None)
        if self.chunked:
            data = self._dechunk(data)
        if data:
            self._feed(data, now)

    def _dechunk(self, data: bytes) -> bytes:
        raw = self.raw + data if self.raw else data
        out = []
        pos = 0
        n = len(raw)
        while pos < n:
            if self.chunk_left > 0:
                take = min(self.chunk_left, n - pos)
                out.append(raw[pos : pos + take])
                pos += take
                self.chunk_left -= take
                if self.chunk_left:
                    break
                self.chunk_left = -2  # CRLF after the chunk
            if self.chunk_left < 0:
                need = -self.chunk_left
                take = min(need, n - pos)
                pos += take
                self.chunk_left = -(need - take) if need - take else 0
                continue
            eol = raw.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(raw[pos:eol].split(b";", 1)[0], 16)
            pos = eol + 2
            if size == 0:
                self.stats.errors["stream ended"] += 1
                pos = n
                break
            self.chunk_left = size
        self.raw = raw[pos:]
        return b"".join(out)

    # --- SSE
    def _feed(self, data: bytes, now: int) -> None:
        buf = self.buf + data if self.buf else data
        cut = buf.rfind(b"\n\n")
        if cut < 0:
            self.buf = buf
            return
        block, self.buf = buf[: cut + 2], buf[cut + 2 :]
        if b"\r" not in block and block[:1] != b"\n":
            parts = _FAST.split(block)
            gaps = parts[0::4]
            gap = b"".join(gaps)
            if not gap or _BORING.fullmatch(gap):
                ids = parts[1::4]
                if ids:
                    if ids[-1]:
                        self.last_id = ids[-1].decode()
                    elif any(ids):
                        self.last_id = next(i for i in reversed(ids) if i).decode()
                    self._lines(parts[2::4], parts[3::4], now)
                return
        # Slow, spec-faithful path. The block ends at an event boundary, so the
        # parser's only state we must carry is the last event id.
        self.parser._id_buffer = self.parser.last_event_id = self.last_id
        seqs, ts = [], []
        for ev in self.parser.feed(block):
            if ev.type != "message":
                self.stats.control[ev.type] += 1
                continue
            m = _LINE.search(ev.data)  # a merged stream's data starts with the file's path
            if m:
                seqs.append(m.group(1).encode())
                ts.append(m.group(2).encode())
            elif "warmup" in ev.data[:300] and not self.is_ready:
                self.is_ready = True
                self.stats.ready += 1
                self.stats.bump()
            else:
                self.stats.control["other data"] += 1
        self.last_id = self.parser.last_event_id
        if seqs:
            self._lines(seqs, ts, now)

    def _lines(self, seqs: list[bytes], ts: list[bytes], now: int) -> None:
        stats = self.stats
        if not self.got_first:
            self.got_first = True
            stats.first_event_s.append(time.perf_counter() - self.started)
        stats.hist.update(map(_bucket, map(now.__sub__, map(int, ts))))
        ints = list(map(int, seqs))
        n = len(ints)
        self.received += n
        if self.reached is not None and self.received >= self.target and not self.reached.done():
            self.reached.set_result(time.perf_counter() - self.started)
            return
        if self.seen is None and ints[0] == self.next and ints == list(range(self.next, self.next + n)):
            self.next += n
        else:
            if self.seen is None:
                self.seen = bytearray(max(stats.expect, self.next))
                self.seen[: self.next] = b"\x01" * self.next
            seen = self.seen
            for s in ints:
                if s >= len(seen):
                    seen.extend(bytes(s + 1 - len(seen)))
                if seen[s]:
                    self.dup += 1
                else:
                    seen[s] = 1
        if not self.is_done and self.unique() >= stats.expect > 0:
            self.is_done = True
            stats.done += 1
            stats.last_recv_ns = max(stats.last_recv_ns, now)
            stats.bump()

    def unique(self) -> int:
        if self.seen is None:
            return self.next
        return len(self.seen) - self.seen.count(0)


class Sink:
    """A client that is load, not measurement: it reads lazily and only looks for
    markers (a ``warmup`` line, the last line). Reading every few ms lets the kernel
    coalesce what the server sent, so 1,000 of them fit beside the server on 2 cores."""

    __slots__ = ("sock", "tail", "ready", "done", "events", "closed", "checked")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.tail = b""
        self.ready = self.done = self.closed = self.checked = False
        self.events = 0  # approximate: a marker split by chunk framing is missed


async def open_sink(args, stats: Stats, request: bytes) -> Sink | None:
    loop = asyncio.get_running_loop()
    for attempt in range(5):
        sock = socket.socket()
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (args.host, args.port))
            await loop.sock_sendall(sock, request)
            return Sink(sock)
        except OSError as exc:
            stats.errors[f"sink connect: {type(exc).__name__}: {exc}"[:120]] += 1
            sock.close()
            await asyncio.sleep(0.2 * (attempt + 1))
    return None


async def drain_sinks(sinks: list[Sink], stats: Stats, interval: float) -> None:
    last = b"data: seq=%d t=" % (stats.expect - 1)
    while True:
        for s in sinks:
            if s.closed:
                continue
            try:
                data = s.sock.recv(1 << 18)
            except BlockingIOError:
                continue
            except OSError as exc:
                data = b""
                stats.errors[f"sink: {type(exc).__name__}"] += 1
            if not data:
                s.closed = True
                if not s.done:
                    stats.errors["sink closed by server"] += 1
                continue
            if not s.checked:
                s.checked = True
                if not data.startswith(b"HTTP/1.1 200") and not data.startswith(b"HTTP/1.0 200"):
                    stats.errors["sink: " + data.split(b"\r\n", 1)[0].decode("latin-1")[:80]] += 1
            buf = s.tail + data
            s.events += data.count(b"\ndata: seq=")
            if not s.ready and b"data: warmup" in buf:
                s.ready = True
                stats.ready += 1
                stats.bump()
            if not s.done and stats.expect and last in buf:
                s.done = True
                stats.done += 1
                stats.last_recv_ns = max(stats.last_recv_ns, time.time_ns())
                stats.bump()
            s.tail = buf[-64:]
        await asyncio.sleep(interval)


def build_request(host: str, port: int, path: str, last_id: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream",
             "Cache-Control: no-cache"]
    if last_id:
        lines.append(f"Last-Event-ID: {last_id}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def open_clients(args, stats: Stats, clients: list[SSEClient], sinks: list[Sink]) -> None:
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(args.connect_concurrency)
    request = build_request(args.host, args.port, args.path, args.last_event_id)

    async def one(i: int) -> None:
        async with sem:
            if i >= args.observe:
                sink = await open_sink(args, stats, request)
                if sink is not None:
                    sinks.append(sink)
                    stats.connected += 1
                    stats.bump()
                return
            for attempt in range(5):
                client = SSEClient(stats, request, time.perf_counter())
                try:
                    await loop.create_connection(lambda c=client: c, args.host, args.port)
                    await asyncio.wait_for(client.headers_done, 30)
                except (TimeoutError, OSError) as exc:
                    stats.errors[f"connect: {type(exc).__name__}: {exc}"[:120]] += 1
                    if client.transport:
                        client.transport.close()
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                clients.append(client)
                stats.connected += 1
                stats.bump()
                return

    await asyncio.gather(*(one(i) for i in range(args.clients)))
    if sinks:
        asyncio.create_task(drain_sinks(sinks, stats, args.sink_interval))


async def backlog(args, stats: Stats, full_s: list[float]) -> None:
    """One connection at a time: time to the first event and to the ``--expect``-th."""
    loop = asyncio.get_running_loop()
    request = build_request(args.host, args.port, args.path, args.last_event_id)
    for _ in range(args.repeat):
        client = SSEClient(stats, request, time.perf_counter())
        client.target = args.expect
        client.reached = loop.create_future()
        try:
            await loop.create_connection(lambda c=client: c, args.host, args.port)
            full_s.append(await asyncio.wait_for(client.reached, 30))
        except (TimeoutError, OSError) as exc:
            stats.errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
        finally:
            if client.transport:
                client.transport.abort()
    stats.connected = stats.ready = stats.done = args.clients = 0


async def main_async(args) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats(args.expect)
    clients: list[SSEClient] = []
    sinks: list[Sink] = []
    stop = asyncio.Event()

    def stdin_reader() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=stdin_reader, daemon=True).start()
    cpu0 = time.process_time()
    full_s: list[float] = []
    if args.mode == "backlog":
        stats.expect = 0
        opener = asyncio.create_task(backlog(args, stats, full_s))
    else:
        opener = asyncio.create_task(open_clients(args, stats, clients, sinks))
    said: set[str] = set()

    def say(word: str) -> None:
        if word not in said:
            said.add(word)
            print(word, flush=True)

    while not stop.is_set():
        stats.event.clear()
        held = len(clients) + len(sinks)
        if opener.done() and stats.connected == held:
            say("connected")
        if "connected" in said and stats.ready >= held:
            say("ready")
        if "connected" in said and (stats.expect or args.mode == "backlog") and stats.done >= held:
            say("done")
        waiter = asyncio.create_task(stats.event.wait())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({waiter, stopper, opener} if not opener.done() else {waiter, stopper},
                           return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
    received = sum(c.received for c in clients)
    unique = sum(c.unique() for c in clients)
    result = {
        "clients": args.clients,
        "connected": len(clients),
        "received": received,
        "lost": sum(max(0, stats.expect - c.unique()) for c in clients)
        + stats.expect * (args.clients - len(clients) - len(sinks)),
        "observed": len(clients),
        "sinks": len(sinks),
        "sinks_done": sum(s.done for s in sinks),
        "sink_events_approx": sum(s.events for s in sinks),
        "dup": sum(c.dup for c in clients),
        "unique": unique,
        "hist": {str(k): v for k, v in stats.hist.items()},
        "bucket_ns": BUCKET_NS,
        "last_recv_ns": stats.last_recv_ns,
        "first_event_s": stats.first_event_s,
        "full_s": full_s,
        "last_id": clients[-1].last_id if clients else "",
        "errors": dict(stats.errors),
        "control": dict(stats.control),
        "client_cpu_s": time.process_time() - cpu0,
    }
    for c in clients:
        if c.transport:
            c.transport.abort()
    for s in sinks:
        s.sock.close()
    print(json.dumps(result), flush=True)


def stalled(args) -> None:
    """Clients that connect and never read: the server's send buffer toward them fills."""
    socks = []
    for _ in range(args.clients):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
        s.connect((args.host, args.port))
        if args.socketio:
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall((f"GET /socket.io/?EIO=3&transport=websocket HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
                       f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n").encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(1)
            s.sendall(_ws_text(f"40/{args.socketio},"))
        else:
            s.sendall(build_request(args.host, args.port, args.path, None))
        socks.append(s)
    print("connected", flush=True)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    print(json.dumps({"clients": len(socks), "stalled": True}), flush=True)
    for s in socks:
        s.close()


def _ws_text(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    assert len(payload) < 126
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True, help="request target, e.g. /api/stream/app.log?lines=0")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--expect", type=int, default=0, help="lines seq=0..expect-1 every client must get")
    ap.add_argument("--last-event-id")
    ap.add_argument("--connect-concurrency", type=int, default=100)
    ap.add_argument("--observe", type=int, default=1 << 30,
                    help="only the first K clients parse and measure; the rest are sinks (load only)")
    ap.add_argument("--sink-interval", type=float, default=0.01, help="seconds between a sink's reads")
    ap.add_argument("--mode", choices=["live", "backlog"], default="live")
    ap.add_argument("--repeat", type=int, default=10, help="backlog mode: connections, one after another")
    ap.add_argument("--stalled", action="store_true")
    ap.add_argument("--socketio", help="stalled socket.io clients of this frontail namespace")
    ap.add_argument("--rcvbuf", type=int, default=4096)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.stalled:
        stalled(args)
    else:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
