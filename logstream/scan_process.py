"""scan_process: a file search run in a process of its own at a lower CPU
priority, its hits sent back to the server already encoded.

Owns where a plain-file search (``search.Search``) runs and how its results come
back. For each search (at most ``MAX_PROCESSES`` at a time) the server starts
``python -m logstream.scan_child`` with ``posix_spawn``, hands it the history's
descriptors and a socket, and sends it the search's ``spec``; the child scans
with two threads, encodes each block's hits as SSE events and writes one frame
per block. The server reads the frames cooperatively and sends them on.

Why a process and not threads of the server (measured: docs/benchmarks.md,
"30 Nov, evening: the scan in a process of its own"): the live streams'
latency suffered from the CPU two busy scanning threads took. Lowering those
threads' priority made it worse, because the GIL is shared: a low-priority
thread holding it kept the hub waiting. A process shares no GIL, so its nice
value (``scan_child.NICE``) works as the kernel means it to: live streams and
their clients get the CPU when they want it, and a search takes what is left.
On an idle machine a nice process runs at full speed. The hits' JSON and SSE
encoding happens in the child too, so it costs the hub nothing.

Why a new program and not ``fork``: a forked child shares the server's memory
copy-on-write, and while it lives every page the hub writes to faults and is
copied. Measured: 26 searches of a small file in 20 s took scenario B's p99
from 7.5 ms to 49-53 ms. ``posix_spawn`` (``vfork`` and ``exec``) copies
nothing and never runs the server's code in the child; the child costs ~0.1 s
of CPU to start, at its lowered priority.

The child holds only the history's files, its socket and the server's standard
output and error (a client's connection must close when the server closes it).
The server stops it with SIGKILL through a pidfd (no race with a reused pid)
when the client hangs up, and gevent's child watcher reaps it. A server killed
outright leaves it to end at its next write (EPIPE), a block later.
"""

from __future__ import annotations

import logging
import marshal
import os
import signal
import site
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import gevent.lock
from gevent import socket as gsocket

from . import scan_child
from .search import Search

MAX_PROCESSES = max(2, os.cpu_count() or 1)  # searches scanning at once; later ones wait their turn
IDLE_SECONDS = 0.1  # a Block with nothing new this often while waiting (a turn, a slow block): progress, hang-ups
_HEADER = scan_child.HEADER
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where the child imports logstream from
_turns = None
log = logging.getLogger(__name__)


@dataclass
class Block:
    """A block scanned, as the server receives it: ``events`` (the ``hit`` events,
    encoded), ``hits`` (how many), ``scanned`` (bytes of the history so far) and
    the ``file`` being read."""

    events: bytes
    hits: int
    scanned: int
    file: str


@dataclass
class Outcome:
    """How a search ended: ``found`` hits, ``scanned`` bytes, ``complete`` (no
    ``limit`` stopped it), ``skipped`` files, and ``error``: None, or a message
    for the client (the server log has the details)."""

    found: int = 0
    scanned: int = 0
    complete: bool = False
    skipped: list[str] = field(default_factory=list)
    error: str | None = None


class ScanProcess:
    """``scan`` run in a child process (see the module's docstring); iterate for
    its ``Block``s, then read ``outcome``. ``close()`` stops the child at once.
    Raises ``OSError`` from ``iter()`` if the child cannot be started."""

    def __init__(self, scan: Search) -> None:
        self.scan = scan
        self.outcome: Outcome | None = None  # None until the child said how it ended
        self.pid = 0
        self._pidfd = None
        self._sock = None
        self._turn = False
        self._closed = False
        self._last = (0, scan.first_file)  # the last block's scanned and file

    def __iter__(self) -> Iterator[Block]:
        turns()
        # At most MAX_PROCESSES scanning; one waiting for its turn, or for a block
        # that takes long (a slow disk), gets an empty Block every IDLE_SECONDS: its
        # client keeps getting progress, and a client that hung up is noticed.
        while not _turns.acquire(timeout=IDLE_SECONDS):
            yield self._idle()
        self._turn = True
        if self._closed:  # closed meanwhile: no process, and the turn goes back
            self._turn = False
            _turns.release()
            return
        self._start()
        while True:
            frame = self._read()
            if frame is None:
                return
            if frame == ():
                yield self._idle()
                continue
            if frame[0] == "end":
                self.outcome = Outcome(*frame[1:])
                return
            block = Block(*frame[1:])
            self._last = block.scanned, block.file
            yield block

    def _idle(self) -> Block:
        """Nothing new: no hits, the bytes scanned so far."""
        return Block(b"", 0, *self._last)

    def _start(self) -> None:
        parent, child = gsocket.socketpair()
        passed = [child.fileno(), *(region.fd for region in self.scan.regions)]
        env = dict(os.environ)
        if not installed():
            env["PYTHONPATH"] = os.pathsep.join(filter(None, (PACKAGE_PARENT, env.get("PYTHONPATH"))))
        try:
            # Inheritable only for this call (the hub's thread spawns nothing else meanwhile).
            for fd in passed:
                os.set_inheritable(fd, True)
            try:
                # vfork and exec: nothing of the server's memory is shared or copied;
                # handlers as exec leaves them (caught: default), SIGINT blocked until it
                # has made it so (a terminal's Ctrl-C reaches the whole group: the
                # interpreter's KeyboardInterrupt would print a traceback in the log).
                # -P: the server's working directory is not on its sys.path (a queue.py
                # there would be imported; an installed command never puts it there).
                self.pid = os.posix_spawn(sys.executable, [sys.executable, "-P", "-m", "logstream.scan_child",
                                                           str(child.fileno())], env,
                                          setsigmask=(signal.SIGINT,))
            finally:
                for fd in passed:
                    os.set_inheritable(fd, False)
        except BaseException:
            parent.close()
            child.close()
            raise
        child.close()
        self._sock = parent
        try:
            # Niced from its start-up on (~0.1 s of CPU): on Linux for its main thread,
            # whose threads, started once it has the spec below, inherit it.
            os.setpriority(os.PRIO_PROCESS, self.pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + scan_child.NICE))
        except OSError:
            pass  # it ended already: its socket says so
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (OSError, AttributeError):
            self._pidfd = None  # before Linux 5.3: os.kill, racing a reused pid only after it ended
        parent.sendall(scan_child.frame(scan_child.spec(self.scan)))

    def _read(self) -> tuple | None:
        """The child's next frame; () if none began within ``IDLE_SECONDS``; None
        at its end of file (it died: outcome stays None)."""
        self._sock.settimeout(IDLE_SECONDS)
        try:
            head = self._sock.recv(_HEADER.size)
        except TimeoutError:
            return ()
        finally:
            self._sock.settimeout(None)  # a frame begun is read to its end
        if not head:
            return None
        rest = scan_child.exactly(self._sock, _HEADER.size - len(head))
        if rest is None:
            return None
        body = scan_child.exactly(self._sock, _HEADER.unpack(head + rest)[0])
        return None if body is None else marshal.loads(body)

    def close(self) -> None:
        """Stop the child (SIGKILL, unless it already said it ended) and let go of
        its socket and turn. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.pid and self.outcome is None:
            try:
                if self._pidfd is not None:
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                else:
                    os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it had ended
        if self._pidfd is not None:
            os.close(self._pidfd)
        if self._sock is not None:
            self._sock.close()
        if self._turn:
            _turns.release()


def installed() -> bool:
    """Whether the package lives in a site directory of this interpreter, which
    the child searches anyway. Then its parent is not put on PYTHONPATH: there
    it would come before the standard library, and a module of site-packages
    named as one of it (enum34's ``enum``, the ``pathlib`` backport) would be
    imported by every search instead."""
    sites = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    return os.path.realpath(PACKAGE_PARENT) in {os.path.realpath(path) for path in sites}


def turns():
    """The semaphore of search processes (``MAX_PROCESSES``), made in the hub's thread on first use."""
    global _turns
    if _turns is None:
        _turns = gevent.lock.BoundedSemaphore(MAX_PROCESSES)
    return _turns
