"""scan_process: a file search run in a forked helper process at a lower CPU
priority, its hits sent back to the server already encoded.

Owns where a plain-file search (``search.Search``) runs and how its results come
back. The server forks once per search (at most ``MAX_PROCESSES`` at a time);
the child scans with ``SCANNERS`` real threads (RE2 and ``pread`` release the
GIL), encodes each block's hits as SSE events, and writes one frame per block
to a socket. The server reads the frames cooperatively and sends them on.

Why a process and not threads of the server (measured: docs/benchmarks.md,
"30 Nov, evening: the scan in a process of its own"): the live streams'
latency suffered from the CPU two busy scanning threads took. Lowering those
threads' priority made it worse, because the GIL is shared: a low-priority
thread holding it kept the hub waiting. A process shares no GIL, so its nice
value (``NICE``) works as the kernel means it to: live streams and their
clients get the CPU when they want it, and a search takes what is left. On an
idle machine a nice process runs at full speed. The hits' JSON and SSE encoding
happens in the child too, so it costs the hub nothing.

The child shares nothing it could harm: right after ``fork`` it closes every
descriptor but the history's, its socket and the server's stdout and stderr (a
client's connection must close when the server closes it), restores the
default signal handlers (the server's are not its; signals are blocked across
the fork until then), turns the cyclic GC off (it would touch every shared
page), and never returns into the server's code (``os._exit``). The server
stops it with SIGKILL through a pidfd (no race with a reused pid) when the
client hangs up, and gevent's child watcher reaps it.
A server killed outright leaves it to end at its next write (EPIPE), a block later.
Idea and caveats of fork in a server: Redis's ``BGSAVE`` (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/).
"""

from __future__ import annotations

import _socket
import gc
import logging
import marshal
import os
import signal
import struct
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import gevent.lock
import gevent.os
from gevent import monkey
from gevent import socket as gsocket

from .block_search import Hit
from .errors import LogstreamError
from .search import Job, Search, Step

SCANNERS = 2  # threads per search process: blocks scanned at once (grep is single-threaded; 2 cores here)
NICE = 10  # added to the child's nice value: weight 110 against a live stream's 1024 (sched(7))
MAX_PROCESSES = max(2, os.cpu_count() or 1)  # searches scanning at once; later ones wait their turn
IDLE_SECONDS = 0.1  # a Block with nothing new this often while waiting (a turn, a slow block): progress, hang-ups
_HEADER = struct.Struct("!I")
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


def run_jobs(scan: Search, spawn: Callable[[Job], Callable[[], None]], scanners: int = SCANNERS) -> Iterator[Step]:
    """``scan``'s blocks, up to ``scanners`` at once (a serial one alone), their
    ``Step``s in order; ``spawn(job)`` starts ``job.run()`` and returns a
    function that waits for it (raising what it raised). Stops at the limit;
    jobs still running then are left to their threads."""
    jobs = scan.jobs()
    inflight: deque = deque()  # (job, wait) in sending order
    held = None  # a planned job that must wait for the ones in flight (a serial one, or after one)

    def fill() -> None:
        nonlocal held
        while len(inflight) < scanners:
            job, held = held or next(jobs, None), None
            if job is None:
                return
            if inflight and (job.serial or inflight[-1][0].serial):
                held = job
                return
            inflight.append((job, spawn(job)))

    fill()
    while inflight:
        job, wait = inflight.popleft()
        wait()
        step = scan.finish(job)
        if scan.remaining > 0:
            fill()  # the next blocks are scanned while this one's hits are sent
        if step is not None:
            yield step
        if scan.remaining <= 0:
            return


def _thread_spawn(job: Job) -> Callable[[], None]:
    """``job.run()`` in a new OS thread (the real one, even when gevent patched
    ``threading``: the child runs no hub); here and now if no thread can be had
    (RLIMIT_NPROC, systemd's TasksMax: the search goes on, one block at a time)."""
    start, allocate = monkey.get_original("_thread", ["start_new_thread", "allocate_lock"])
    done = allocate()
    done.acquire()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            job.run()
        except BaseException as exc:  # handed to the waiter, which raises it
            failure.append(exc)
        finally:
            done.release()

    try:
        start(run, ())
    except RuntimeError:  # "can't start new thread" (EAGAIN)
        run()

    def wait() -> None:
        done.acquire()
        if failure:
            raise failure[0]

    return wait


class ScanProcess:
    """``scan`` run in a forked child (see the module's docstring); iterate for
    its ``Block``s, then read ``outcome``. ``encode(hit) -> bytes`` makes a hit's
    event (in the child). ``close()`` stops the child at once. Raises ``OSError``
    from ``iter()`` if the child cannot be forked."""

    def __init__(self, scan: Search, encode: Callable[[Hit], bytes]) -> None:
        self.scan = scan
        self.encode = encode
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
        if self._closed:
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
        fork = monkey.get_original("os", "fork")
        # Signals wait until the child has its own handlers (_default_signals): one
        # caught in between would run the server's handler in the child.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            pid = gevent.os.fork_and_watch(fork=fork)  # the hub's child watcher reaps it
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            parent.close()
            child.close()
            raise
        if pid:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if not pid:
            _child(self.scan, child.fileno(), self.encode)  # never returns
        self.pid = pid
        child.close()
        self._sock = parent
        try:
            self._pidfd = os.pidfd_open(pid)
        except (OSError, AttributeError):
            self._pidfd = None  # before Linux 5.3: os.kill, racing a reused pid only after it ended

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
        rest = self._recv(_HEADER.size - len(head))
        if rest is None:
            return None
        body = self._recv(_HEADER.unpack(head + rest)[0])
        return None if body is None else marshal.loads(body)

    def _recv(self, n: int) -> bytes | None:
        parts, left = [], n
        while left:
            chunk = self._sock.recv(min(left, 1 << 20))
            if not chunk:
                return None
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

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


def turns():
    """The semaphore of search processes (``MAX_PROCESSES``), made in the hub's thread on first use."""
    global _turns
    if _turns is None:
        _turns = gevent.lock.BoundedSemaphore(MAX_PROCESSES)
    return _turns


def _child(scan: Search, fd: int, encode: Callable[[Hit], bytes]) -> None:
    """The forked child: scan, send a frame per block and one at the end, exit.
    Never returns (``os._exit``), whatever happens."""
    code = 0
    try:
        _close_all_but(sorted({fd, *(region.fd for region in scan.regions), *_std_outputs()}))
        _default_signals()
        gc.disable()
        os.nice(NICE)  # threads started below inherit it
        _name("logstream-scan")  # last: named, it is set up (tests/test_search_process.py waits for it)
        out = _socket.socket(fileno=fd)  # the C socket: blocking sendall, no gevent
        out.setblocking(True)
        outcome = Outcome()
        try:
            for step in run_jobs(scan, _thread_spawn):
                _send(out, ("block", b"".join(map(encode, step.hits)), len(step.hits), step.scanned, step.file))
        except LogstreamError as exc:
            outcome.error = f"the search failed: {exc.message}"
        except BrokenPipeError:
            raise  # the server is gone
        except Exception:
            log.exception("search of %s failed", scan.first_file)  # the server's log (stderr)
            outcome.error = "the search failed (see the server log)"
        outcome.found, outcome.scanned, outcome.complete = scan.found, scan.scanned, scan.complete
        outcome.skipped = list(scan.skipped)
        _send(out, ("end", outcome.found, outcome.scanned, outcome.complete, outcome.skipped, outcome.error))
    except BrokenPipeError:
        code = 1  # the server closed its end: nobody to tell
    except BaseException:
        code = 1
        log.exception("search process of %s failed", scan.first_file)
    finally:
        os._exit(code)


def _default_signals() -> None:
    """In the child, before it unblocks signals: every signal the server's
    environment did not ignore gets its default action (the server's handlers,
    Python's or gevent's or gunicorn's, are not the child's: SIGTERM and SIGINT
    end it, SIGWINCH does nothing), no wakeup descriptor, SIGPIPE ignored (a
    server gone: EPIPE, then exit). Through the stdlib's functions: gevent's
    ``signal`` would touch the server's hub for SIGCHLD."""
    setsig, getsig = monkey.get_original("signal", ["signal", "getsignal"])
    signal.set_wakeup_fd(-1)
    for signum in signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}:
        try:
            if getsig(signum) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored, as for the server
                setsig(signum, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # a signal the C library keeps for itself
    setsig(signal.SIGPIPE, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def _name(name: str) -> None:
    """This process's name in ``top`` and ``ps -o comm`` (Linux; elsewhere it keeps the server's)."""
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(name)
    except OSError:
        pass


def _send(out, frame: tuple) -> None:
    body = marshal.dumps(frame)
    out.sendall(_HEADER.pack(len(body)) + body)


def _std_outputs() -> set[int]:
    """Which of descriptors 1 and 2 are the server's standard output and error
    (Python's ``sys.stdout``/``sys.stderr`` on them; a server started with them
    closed has its own files there: the hub's epoll, a socket). Not 0: a search
    reads no input, and ``logstream -`` reads a producer's pipe there."""
    out = set()
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        try:
            if stream is not None and stream.fileno() == fd:
                out.add(fd)
        except (AttributeError, OSError, ValueError):
            pass  # replaced by an object without a descriptor
    return out


def _close_all_but(keep: list[int]) -> None:
    """Close every descriptor of this process but ``keep`` (sorted)."""
    low = 0
    for fd in keep:
        if low < fd:  # closerange(n, n) would close everything from n on (close_range's ~0)
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low + 1, os.sysconf("SC_OPEN_MAX")))
