"""Fixtures: a real ``python -m logstream`` on an ephemeral loopback port, and a
small SSE client that parses with the spec-faithful parser. Tests wait on
conditions with deadlines, never on fixed sleeps."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logstream.sse import Event, Parser

ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class Server:
    """A logstream server process. ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, root: Path, args: tuple[str, ...], port: int = 0, env: dict | None = None,
                 module_args: tuple[str, ...] = (), launcher: tuple[str, ...] = (),
                 program: tuple[str, ...] = (), cwd: Path = ROOT, stdin=None, root_arg: str | None = None) -> None:
        """``program`` replaces ``python -m logstream`` (an installed ``logstream``
        command), run in ``cwd``; ``stdin`` is handed to Popen (``subprocess.PIPE``:
        write to ``proc.stdin``); ``root_arg`` replaces ``root`` on the command line
        (``-``), ``root`` then only says where the server's stderr goes."""
        self.launcher = launcher
        self.program = program or (sys.executable, "-m", "logstream")
        self.cwd = cwd
        self.stdin = stdin
        self.root_arg = root_arg
        self.root = Path(root)
        self.args = args
        self.port = port
        self.env = env
        self.module_args = module_args
        self.proc: subprocess.Popen | None = None
        self.clients: list[SSEClient] = []
        self.stderr_path = self.root.parent / f"server-{id(self)}.stderr"
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        root = self.root_arg if self.root_arg is not None else str(self.root)
        cmd = [*self.launcher, *self.program, *self.module_args, root,
               "--port", str(self.port), "--host", "127.0.0.1", *self.args]
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
                                     stdin=self.stdin)
        deadline = time.monotonic() + 20
        while True:
            line = self.proc.stdout.readline().decode(errors="replace")  # a root may have any bytes
            if "serving" in line and "://" in line:
                self.port = int(line.rsplit(":", 1)[1].split("/")[0])
                break
            if not line and self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {self.stderr()}")

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        for client in self.clients:
            client.close()
        self.clients.clear()
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc.stdout.close()
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:  # what was still buffered has no reader any more
                pass
        self._stderr.close()
        self.proc = None
        return code

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- HTTP helpers -----------------------------------------------------------------
    def get(self, path: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def json(self, path: str, **kw):
        status, headers, body = self.get(path, **kw)
        return status, json.loads(body)

    def stream(self, path: str, headers: dict | None = None, timeout: float = 10, rcvbuf: int = 0) -> SSEClient:
        client = SSEClient(self.port, path, headers, timeout, rcvbuf)
        self.clients.append(client)
        return client


class SSEClient:
    """An open event stream over a raw socket (so a read may time out and be
    tried again); ``events`` grows as ``read_until`` reads."""

    def __init__(self, port: int, path: str, headers: dict | None, timeout: float, rcvbuf: int = 0,
                 tls=None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # a small window makes a client that stops reading stall the server's writes soon
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(("127.0.0.1", port))
            if tls is not None:  # an ssl.SSLContext: speak HTTPS (the deployment guide's nginx)
                self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        except OSError:
            self.sock.close()
            raise
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        self.sock.sendall((head + "\r\n").encode("latin-1"))
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"no response headers: {buffer!r}")
            buffer += chunk
        header_block, self._pending = buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.ended = False
        self.parser = Parser()
        self.events: list[Event] = []
        self.raw = bytearray()
        self._body(b"")

    @property
    def lines(self) -> list[str]:
        return [e.data for e in self.events if e.type == "message"]

    def _body(self, data: bytes) -> None:
        """De-chunk what arrived and feed it to the parser."""
        self._pending += data
        if not self.chunked:
            payload, self._pending = self._pending, b""
            self._deliver(payload)
            return
        while True:
            head, sep, rest = self._pending.partition(b"\r\n")
            if not sep:
                return
            size = int(head.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            if size == 0:
                self.ended = True
            self._deliver(rest[:size])
            self._pending = rest[size + 2 :]

    def _deliver(self, payload: bytes) -> None:
        if payload:
            self.raw += payload
            self.events.extend(self.parser.feed(payload))

    def read_some(self, timeout: float = 0.2) -> bool:
        """Read what arrives within ``timeout``; False once the stream has ended."""
        if self.ended:
            return False
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            self.ended = True
            return False
        if not chunk:
            self.ended = True
            return False
        self._body(chunk)
        return not self.ended

    def read_until(self, condition, timeout: float = 10.0, message: str = "events"):
        deadline = time.monotonic() + timeout
        while True:
            value = condition(self)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {message}; got {self.events[-5:]!r}")
            if not self.read_some():
                value = condition(self)
                if value:
                    return value
                raise AssertionError(f"stream ended while waiting for {message}; got {self.events[-5:]!r}")

    def wait_lines(self, count: int, timeout: float = 10.0) -> list[str]:
        self.read_until(lambda c: len(c.lines) >= count, timeout, f"{count} lines")
        return self.lines

    def of_type(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type == kind]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def logserver(tmp_path_factory):
    """Factory: ``logserver(root, *cli_args, port=0, env=None)`` → a running Server."""
    servers: list[Server] = []

    def start(root, *args, port: int = 0, env: dict | None = None, module_args: tuple[str, ...] = ()) -> Server:
        server = Server(Path(root), tuple(args), port, env, module_args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def logdir(tmp_path) -> Path:
    root = tmp_path / "logs"
    root.mkdir()
    return root


@pytest.fixture
def server(logserver, logdir) -> Server:
    """A server on an empty log directory, with a fast heartbeat."""
    return logserver(logdir, "--heartbeat", "1")


def append(path: Path, *lines: str, raw: bytes | None = None) -> None:
    """Append lines (each gets a newline) or raw bytes, flushed at once."""
    with open(path, "ab") as f:
        f.write(raw if raw is not None else "".join(line + "\n" for line in lines).encode())


def assert_each_id_resumes(server, path: str, messages) -> None:
    """Resuming with the id of each of ``messages`` (events in stream order, of
    ``path``) gives exactly the messages after it, and no reset."""
    for n, event in enumerate(messages):
        again = server.stream(f"{path}?lines=0", headers={"Last-Event-ID": event.last_event_id})
        want = [m.data for m in messages[n + 1:]]
        if want:
            assert again.wait_lines(len(want)) == want, f"resuming after {event.data!r}"
        assert not again.of_type("reset")
        again.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(server) -> dict[str, float]:
    """The server's /metrics as {name{labels}: value}."""
    status, _, body = server.get("/metrics")
    assert status == 200
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


@contextlib.contextmanager
def gunicorn_worker(gunicorn: list[str], target: str, root: Path, *, cwd: Path, env: dict, errors: Path):
    """Run ``gunicorn`` (its command) with one gevent worker on ``target``
    serving ``root``, its stderr in ``errors``; yields ``(port, the worker's pid)``
    once it accepts (a stream of ``app.log`` is open), stops it after."""
    port = free_port()
    env = {**env, "LOGSTREAM_ROOT": str(root), "LOGSTREAM_POLL_INTERVAL": "3600", "LOGSTREAM_HEARTBEAT": "1"}
    err = open(errors, "wb")
    proc = subprocess.Popen([*gunicorn, "-k", "gevent", "-w", "1", "--worker-connections", "100",
                             "-b", f"127.0.0.1:{port}", target], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=err)
    try:
        def connect():
            try:
                return SSEClient(port, "/api/stream/app.log", None, 10)
            except OSError:
                return None

        wait_for(connect, timeout=30, interval=0.1, message="gunicorn to accept").close()
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            yield port, int(f.read().split()[0])
    finally:
        proc.terminate()
        proc.wait(10)
        err.close()


def gunicorn_streams_a_line(gunicorn: list[str], target: str, root: Path, *, cwd: Path, env: dict,
                            errors: Path) -> None:
    """Run ``gunicorn`` (its command) with the gevent worker on ``target`` serving
    ``root`` (which holds ``app.log`` with one line): a line appended arrives on a
    stream within 5 s (only inotify is that fast with a long poll interval), a
    search (its own process, started by the gevent worker) finds it, and gunicorn's
    stderr holds no traceback."""
    with gunicorn_worker(gunicorn, target, root, cwd=cwd, env=env, errors=errors) as (port, _):
        s = SSEClient(port, "/api/stream/app.log", None, 10)
        s.wait_lines(1)
        append(root / "app.log", "under gunicorn")
        assert s.wait_lines(2, timeout=5)[-1] == "under gunicorn"
        s.close()
        found = SSEClient(port, "/api/search/app.log?q=gunicorn", None, 10)
        found.read_until(lambda c: c.of_type("done"), message="the search's done")
        assert [json.loads(e.data)["text"] for e in found.of_type("hit")] == ["under gunicorn"]
        found.close()
    assert b"Traceback" not in errors.read_bytes()
