"""servers: start and stop the servers under test, and build their request targets.

logstream and the floor print ``...: serving DIR on http://HOST:PORT/`` and bind
port 0; frontail takes a port we pick and is ready when it accepts connections.
frontail is installed from the npm registry into bench/.cache/node (gitignored)
on first use: its code is never committed here.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
NODE_DIR = os.path.join(BENCH, ".cache", "node")
FRONTAIL_BIN = os.path.join(NODE_DIR, "node_modules", "frontail", "bin", "frontail")
NPM_PACKAGES = ["frontail@4.9.2", "socket.io-client@2.3.1"]  # frontail 4.9.2 ships socket.io 2.3.0
_SERVING = re.compile(r"serving .* on http://([\d.]+):(\d+)/")


def ensure_frontail() -> str | None:
    """Install frontail (and the socket.io client) with npm. Returns an error or None."""
    if os.path.exists(FRONTAIL_BIN) and os.path.isdir(os.path.join(NODE_DIR, "node_modules", "socket.io-client")):
        return None
    os.makedirs(NODE_DIR, exist_ok=True)
    try:
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", NODE_DIR,
                               *NPM_PACKAGES], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm install failed: {exc}"
    if proc.returncode != 0 or not os.path.exists(FRONTAIL_BIN):
        return f"npm install failed: {proc.stderr.strip()[-300:]}"
    return None


class Server:
    """One server process serving ``root`` (frontail: the one file ``file``)."""

    name = "?"
    merges = True  # can follow several files in one stream

    def __init__(self, root: str, file: str, backlog: int = 0, others: tuple[str, ...] = ()) -> None:
        self.root, self.file, self.backlog = root, file, backlog
        self.files = [file, *others]  # followed together (scenario A10): one merged stream
        self.repo = REPO  # the checkout the server runs from (bench/files_index.py --repo)
        self.proc: subprocess.Popen | None = None
        self.host, self.port = "127.0.0.1", 0
        self.output: list[str] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 30) -> None:
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     cwd=self.repo, stdin=subprocess.DEVNULL)
        found = threading.Event()

        def read() -> None:
            for line in self.proc.stdout:
                if len(self.output) < 200:
                    self.output.append(line.rstrip())
                m = _SERVING.search(line)
                if m and not found.is_set():
                    self.host, self.port = m.group(1), int(m.group(2))
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not self._wait_ready(found, timeout):
            self.stop()
            raise RuntimeError(f"{self.name} did not start: " + " | ".join(self.output[-5:]))

    def _wait_ready(self, found: threading.Event, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found.wait(0.05):
                return True
            if self.proc.poll() is not None:
                return False
        return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stream_target(self, lines: int = 0) -> str:
        rel = os.path.relpath(self.file, self.root)
        if len(self.files) > 1:
            return "/api/stream?" + "".join(f"path={os.path.relpath(f, self.root)}&" for f in self.files) \
                + f"lines={lines}"
        return f"/api/stream/{rel}?lines={lines}"


class Logstream(Server):
    name = "logstream"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "logstream", self.root, "--port", "0"]

    @staticmethod
    def available() -> str | None:
        if not os.path.exists(os.path.join(REPO, "logstream", "__main__.py")):
            return "logstream/__main__.py missing"
        return None


class Floor(Server):
    name = "floor"
    merges = False  # one file per request: no scenario with several files (A10)

    def command(self) -> list[str]:
        return [sys.executable, os.path.join(BENCH, "floor.py"), self.root, "--port", "0"]


class Frontail(Server):
    name = "frontail"

    def command(self) -> list[str]:
        with socket.socket() as s:  # frontail cannot bind port 0 and tell us
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        return ["node", FRONTAIL_BIN, "--disable-usage-stats", "-h", "127.0.0.1", "-p", str(self.port),
                "-n", str(self.backlog), *self.files]

    def _wait_ready(self, found: threading.Event, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection((self.host, self.port), 0.5).close()
                time.sleep(0.3)  # its `tail -F` child starts right after listen()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    @property
    def namespace(self) -> str:
        return hashlib.md5(" ".join(self.files).encode()).hexdigest()  # frontail's own rule

    @staticmethod
    def available() -> str | None:
        return ensure_frontail()


SERVERS = {"logstream": Logstream, "floor": Floor, "frontail": Frontail}
