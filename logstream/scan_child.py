"""scan_child: the program a file search runs in (``python -m logstream.scan_child
FD``), started by ``scan_process`` for each search, and the frames it speaks.

Owns the child's side: it reads the search's description (``spec``) from the
socket on descriptor FD, keeps only the descriptors it names (the history's
files, the socket) and its standard output and error, lowers its priority
(``NICE``), scans with ``SCANNERS`` threads (``run_jobs``: RE2, ``preadv`` and
zlib release the GIL), and writes one frame per block: the block's ``hit``
events already encoded, how far the scan got, then an ``end`` frame saying how
it ended. A server that goes away (its end of the socket closed) ends the child
at its next frame (EPIPE).

Frames: a 4-byte big-endian length, then ``marshal`` of a tuple (trusted: the
two ends are the same program). Imports nothing of gevent or Flask: the child
starts in ~0.1 s of CPU (Python's start-up and RE2), at its lowered priority.
"""

from __future__ import annotations

import _thread
import gc
import json
import logging
import marshal
import os
import queue
import signal
import socket
import struct
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterator

from . import sse
from .errors import LogstreamError
from .query import Query
from .search import Job, Region, Search, Step

SCANNERS = 2  # threads per search process: blocks scanned at once (grep is single-threaded; 2 cores here)
NICE = 10  # added to the server's nice value for the child, by the server; weight 110 against 1024 (sched(7))
NAME = "logstream-scan"  # the child's name in top and ps -o comm
HEADER = struct.Struct("!I")
log = logging.getLogger(__name__)


def hit_event(hit) -> bytes:
    """A hit as its SSE ``hit`` event (a ``block_search.Hit`` or a Redis entry's)."""
    return sse.event(json.dumps(hit.as_json(), ensure_ascii=False), event="hit")


def spec(scan: Search) -> tuple:
    """What the child needs to run ``scan`` again: its query's source, its
    settings and its regions (descriptors by number: the child inherits them)."""
    query = scan.query
    lf = query.line_filter
    regions = [(r.rel, r.ino, r.fd, r.size, r.start, r.end, r.final, r.compressed, r.lines_end, r.rotated)
               for r in scan.regions]
    return (lf.pattern if lf else "", bool(lf and lf.invert), [c.text for c in query.clauses], scan.max_line,
            scan.remaining, scan.context, scan.oldest_first, regions, list(scan.skipped))


def search_of(described: tuple) -> Search:
    """The ``Search`` a ``spec`` describes. Raises ``BadRequest`` as
    ``Query.build`` does (never, for a spec made from a search that ran)."""
    pattern, invert, where, max_line, limit, context, oldest_first, regions, skipped = described
    scan = Search([Region(*r) for r in regions], Query.build(pattern, invert, where), max_line=max_line,
                  limit=limit, context=context, oldest_first=oldest_first)
    scan.skipped.extend(skipped)
    return scan


def frame(message: tuple) -> bytes:
    """``message`` as one frame: its length, then its ``marshal``."""
    body = marshal.dumps(message)
    return HEADER.pack(len(body)) + body


def send(sock: socket.socket, message: tuple) -> None:
    """One frame, whole (``sendall``)."""
    sock.sendall(frame(message))


def receive(sock: socket.socket) -> tuple | None:
    """One frame, or None at the end of the stream (blocking)."""
    head = exactly(sock, HEADER.size)
    body = None if head is None else exactly(sock, HEADER.unpack(head)[0])
    return None if body is None else marshal.loads(body)


def exactly(sock, n: int) -> bytes | None:
    """``n`` bytes from ``sock`` (any socket: the server's is gevent's), or None at its end of file."""
    parts, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


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


class Scanners:
    """``count`` threads that run jobs for as long as the process lives, and
    ``spawn`` for ``run_jobs``. Kept, not one per block: a new thread starts
    with a fresh share of the CPU (the scheduler places it level with the
    others), so a thread per block escaped the process's nice value (scenario
    B's p99 2.3-2.7x while searching, against 1.4x for a kept pair). With no
    thread to be had (RLIMIT_NPROC, systemd's TasksMax), jobs run here, one at
    a time: the search goes on."""

    def __init__(self, count: int = SCANNERS) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.threads = 0
        for _ in range(count):
            try:
                _thread.start_new_thread(self._work, ())
            except RuntimeError:  # "can't start new thread" (EAGAIN)
                break
            self.threads += 1

    def _work(self) -> None:
        while True:
            _run(*self.queue.get())

    def spawn(self, job: Job) -> Callable[[], None]:
        """Start ``job.run()``; returns a function that waits for it and raises what it raised."""
        done = _thread.allocate_lock()
        done.acquire()
        failure: list[BaseException] = []
        if self.threads:
            self.queue.put((job, done, failure))
        else:
            _run(job, done, failure)

        def wait() -> None:
            done.acquire()
            if failure:
                raise failure[0]

        return wait


def _run(job: Job, done, failure: list[BaseException]) -> None:
    try:
        job.run()
    except BaseException as exc:  # handed to the waiter, which raises it
        failure.append(exc)
    finally:
        done.release()


def main(argv: list[str]) -> int:
    """The child: ``argv[1]`` is its socket's descriptor. Exit status 0 when the
    server got the ``end`` frame, 1 otherwise."""
    sock = socket.socket(fileno=int(argv[1]))
    sock.setblocking(True)  # the server's end is gevent's, non-blocking; a slow client must stall this one
    described = receive(sock)
    if described is None:
        return 1  # the server went away before it said what to search
    scan = search_of(described)
    close_all_but(sorted({sock.fileno(), *(region.fd for region in scan.regions), *std_outputs()}))
    gc.disable()  # a scan makes no cycles worth a collector's passes
    name(NAME)  # last: named, it is set up (tests/test_search_process.py waits for it)
    error = None
    try:
        for step in run_jobs(scan, Scanners().spawn):
            send(sock, ("block", b"".join(map(hit_event, step.hits)), len(step.hits), step.scanned, step.file))
    except BrokenPipeError:
        return 1  # the server closed its end: nobody to tell
    except LogstreamError as exc:
        error = f"the search failed: {exc.message}"
    except Exception:
        log.exception("search of %s failed", scan.first_file)  # the server's stderr, which is its log
        error = "the search failed (see the server log)"
    try:
        send(sock, ("end", scan.found, scan.scanned, scan.complete, list(scan.skipped), error))
    except BrokenPipeError:
        return 1
    return 0


def name(text: str) -> None:
    """This process's name in ``top`` and ``ps -o comm`` (Linux; elsewhere it keeps python's)."""
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(text)
    except OSError:
        pass


def std_outputs() -> set[int]:
    """Which of descriptors 1 and 2 are this process's standard output and error
    (the server's, inherited). Not 0: a search reads no input, and
    ``logstream -`` reads a producer's pipe there."""
    out = set()
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        try:
            if stream is not None and stream.fileno() == fd:
                out.add(fd)
        except (AttributeError, OSError, ValueError):
            pass  # replaced by an object without a descriptor
    return out


def close_all_but(keep: list[int]) -> None:
    """Close every descriptor of this process but ``keep`` (sorted): any the
    server left inheritable by mistake (a library's inotify) is not the search's."""
    low = 0
    for fd in keep:
        if low < fd:  # closerange(n, n) would close everything from n on (close_range's ~0)
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low + 1, os.sysconf("SC_OPEN_MAX")))


def quiet_interrupt() -> None:
    """SIGINT (a terminal's Ctrl-C, sent to the server's whole process group)
    ends this process without a word, as its default does, rather than as a
    KeyboardInterrupt with a traceback in the server's log; then unblocked (the
    server blocks it for the start-up: ``scan_process``). An ignored SIGINT
    (a server started in the background of a script) stays ignored."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def run() -> None:
    """``main``, then exit at once with its status: the interpreter's shutdown
    would end scanning threads still inside RE2 (a limit reached while the next
    block was being scanned), and C++ then aborts them ("terminate called
    without an active exception" in the server's log)."""
    quiet_interrupt()  # first: the scanning threads inherit the mask
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    code = 1
    try:
        code = main(sys.argv)
    except BaseException:
        traceback.print_exc()  # to the server's log; the server tells the client the search failed
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


if __name__ == "__main__":
    run()
