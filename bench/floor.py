"""floor: the least a `tail -F`-over-SSE server can be, as a baseline for logstream.

One asyncio process. One shared ``tail -c +SIZE -F FILE`` per file, started by the
first live subscriber, whose output is cut into lines, encoded into SSE once per
read and written to every subscriber; ids are byte offsets. A request with
``lines=N`` (N>0) or a ``Last-Event-ID`` gets a private ``tail -n N -F`` /
``tail -c +ID -F`` for its whole life (the one-tail-per-client model). A client
whose unsent output passes 64 MiB is dropped. No filters, rotation events, auth
or merged streams: this is the floor, not a product.

    python bench/floor.py DIR --port 0   # prints "floor: serving DIR on http://127.0.0.1:PORT/"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
from urllib.parse import parse_qs, unquote, urlsplit

HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        b"Cache-Control: no-cache\r\nConnection: close\r\n\r\nretry: 2000\n\n")
MAX_BUFFER = 64 << 20


class Topic:
    def __init__(self, path: str) -> None:
        self.path = path
        self.clients: set[asyncio.StreamWriter] = set()
        self.task: asyncio.Task | None = None

    def add(self, w: asyncio.StreamWriter) -> None:
        self.clients.add(w)
        if self.task is None:
            start = os.path.getsize(self.path)
            self.task = asyncio.create_task(pump(["-c", f"+{start + 1}", "-F", self.path], start, self.send))

    def send(self, data: bytes) -> None:
        for w in list(self.clients):
            if w.transport.get_write_buffer_size() > MAX_BUFFER:
                self.clients.discard(w)
                w.transport.abort()
            else:
                w.write(data)


async def pump(tail_args: list[str], offset: int | None, send) -> None:
    """Run `tail`, turn its output into SSE events (ids = byte offsets if known)."""
    proc = await asyncio.create_subprocess_exec("tail", *tail_args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    rest = b""
    try:
        while chunk := await proc.stdout.read(1 << 16):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            if offset is None:
                send(b"".join([b"data: %s\n\n" % line for line in lines]))
                continue
            out = []
            for line in lines:
                offset += len(line) + 1
                out.append(b"id: %d\ndata: %s\n\n" % (offset, line))
            send(b"".join(out))
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def handle(root: str, topics: dict[str, Topic], r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    private = None
    topic = None
    try:
        head = (await r.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        target = urlsplit(head[0].split(" ")[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        query = parse_qs(target.query)
        path = os.path.realpath(os.path.join(root, unquote(target.path.removeprefix("/api/stream/"))))
        if not target.path.startswith("/api/stream/") or not path.startswith(root + os.sep) \
                or not os.path.isfile(path):
            w.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        lines = int(query.get("lines", ["0"])[0])
        last_id = headers.get("last-event-id") or query.get("last_event_id", [""])[0]
        w.write(HEAD)
        if last_id.isdigit():
            private = asyncio.create_task(pump(["-c", f"+{int(last_id) + 1}", "-F", path], int(last_id), w.write))
        elif lines > 0:
            private = asyncio.create_task(pump(["-n", str(lines), "-F", path], None, w.write))
        else:
            topic = topics.setdefault(path, Topic(path))
            topic.add(w)
        while await r.read(1024):  # wait for the client to go away
            pass
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        pass
    finally:
        if topic is not None:
            topic.clients.discard(w)
        if private is not None:
            private.cancel()
        w.transport.abort()


async def heartbeat(topics: dict[str, Topic], seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        for topic in topics.values():
            topic.send(b": ping\n\n")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    args = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    root = os.path.realpath(args.root)
    topics: dict[str, Topic] = {}
    server = await asyncio.start_server(lambda r, w: handle(root, topics, r, w), args.host, args.port, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"floor: serving {root} on http://{args.host}:{port}/", flush=True)
    asyncio.create_task(heartbeat(topics, 15))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
