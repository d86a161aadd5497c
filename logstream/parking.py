"""parking: an idle live stream held without a greenlet.

A caught-up stream with nothing to send used to keep its connection greenlet
waiting under pywsgi's loop, Flask's response and the stream's generators: 14 KB
allocated per idle stream, a third of it the greenlet's saved C stack
(``bench/idle_memory.py``). Parked, the connection greenlet ends while the
socket stays open: the handler gives its descriptor away (``Handler.detach``),
pywsgi lets go of its buffers, environ and Flask objects, and what remains is the
stream (its followers, encoder and subscriber) and a ``ParkedConnection``: the
bare descriptor, a hang-up watcher and the bytes a send left. The publisher
writes to it without switching (``send_nowait``), the pinger sends heartbeats the
same way, and a greenlet is spawned again (``Waker.set``) only when the stream's
loop is needed: a send the socket did not take (sent under the write timeout),
an overflowed queue (catch up from the file), a control item, a hang-up,
shutdown. When that loop has nothing left to do, the stream parks again.

Never blocks the caller of ``send_nowait`` or ``Waker.set`` (they run in the
publisher's or the pinger's greenlet); never closes the descriptor twice.
"""

from __future__ import annotations

import _socket
import errno

import gevent
import gevent.pool
from gevent.socket import wait_write

TERMINATOR = b"0\r\n\r\n"  # the last chunk of a chunked response (RFC 9112 7.1)
# The greenlets of resumed streams (``Waker.set``), for shutdown to wait on as it
# waits on the server's connection greenlets (``server.serve``): none of them is one.
RESUMED = gevent.pool.Group()


def chunk_parts(data: bytes, chunked: bool) -> tuple[bytes, ...]:
    """``data`` as the parts of one response chunk, framing beside the (shared,
    uncopied) bytes, for one ``sendmsg``; or ``data`` alone without chunking."""
    return (b"%x\r\n" % len(data), data, b"\r\n") if chunked else (data,)


def hangup_seen(watch, peer_gone) -> bool:
    """After a hang-up watcher fired: whether the client closed its connection.
    ``watch`` holds the watcher's state (``readable``: it fired; ``hangup``: the
    libev watcher, None or False); ``peer_gone()`` peeks at the socket. A client
    that sent bytes instead is not watched any more (``hangup`` False): its stream
    falls back to the heartbeat's check, and a chatty client cannot make the
    server spin. Shared by ``Handler`` and ``ParkedConnection``."""
    if watch is None or not watch.readable:
        return False
    watch.readable = False
    if peer_gone():
        return True
    watch.hangup.close()
    watch.hangup = False
    return False


class ParkedConnection:
    """A live stream's socket once its connection greenlet ended: what a ``Stream``
    asks of its handler (``send_nowait``, ``pending``, ``flush_pending``,
    ``watch_hangup``, ``hung_up``, ``peer_gone``), over the bare descriptor
    (``fd``, a file descriptor number, owned from now on), plus a blocking
    ``send`` for the greenlet that resumes the stream and ``close``.

    ``chunked``: whether the response is chunked (HTTP/1.1; else its end is the
    connection's close). ``write_timeout``: seconds a blocking send may make no
    progress before ``TimeoutError`` (None: no bound)."""

    __slots__ = ("sock", "chunked", "write_timeout", "pending", "hangup", "readable")
    can_send_nowait = True

    def __init__(self, fd: int, chunked: bool, write_timeout: float | None) -> None:
        self.sock = _socket.socket(fileno=fd)  # the C socket: no gevent watchers, ~70 bytes
        self.sock.setblocking(False)
        self.chunked = chunked
        self.write_timeout = write_timeout
        self.pending = b""  # what a send_nowait left, for the resumed greenlet
        self.hangup = None  # the libev I/O watcher; False once the client sent bytes
        self.readable = False

    def ready_to_send_nowait(self) -> bool:
        return not self.pending

    def send_nowait(self, data: bytes) -> int | None:
        """One non-blocking ``sendmsg`` of a chunk; as ``Handler.send_nowait``."""
        parts = chunk_parts(data, self.chunked)
        try:
            sent = self.sock.sendmsg(parts)
        except OSError:
            return None
        if sent < sum(map(len, parts)):
            self.pending = b"".join(parts)[sent:]
        return sent

    def flush_pending(self) -> None:
        """Send what ``send_nowait`` left, under the write timeout."""
        rest, self.pending = self.pending, b""
        self._sendall([memoryview(rest)])

    def send(self, data: bytes) -> None:
        """Send one chunk, waiting (this greenlet only) while the socket is full.
        Raises ``TimeoutError`` (no progress for ``write_timeout``) or ``OSError``."""
        self._sendall([memoryview(p) for p in chunk_parts(data, self.chunked)])

    def _sendall(self, views: list[memoryview]) -> None:
        sock = self.sock
        while views:
            try:
                sent = sock.sendmsg(views)
            except BlockingIOError:
                wait_write(sock.fileno(), self.write_timeout, TimeoutError(errno.ETIMEDOUT, "client stopped reading"))
                continue
            while sent:
                if sent < len(views[0]):
                    views[0] = views[0][sent:]
                    break
                sent -= len(views.pop(0))

    def watch_hangup(self, wake) -> None:
        """Call ``wake()`` when the socket turns readable (a client that closed its
        connection makes it so); unlike the handler's, left on while parked."""
        if self.hangup is None:
            self.hangup = gevent.get_hub().loop.io(self.sock.fileno(), 1)  # 1: EV_READ
            self.hangup.ref = False  # never keeps the server's loop alive by itself
        if self.hangup:
            self.hangup.start(self._on_readable, wake)

    def unwatch_hangup(self) -> None:
        """Nothing: a parked stream keeps its watcher until it closes."""

    def _on_readable(self, wake) -> None:
        self.hangup.stop()
        self.readable = True
        wake()

    def hung_up(self) -> bool:
        """As ``Handler.hung_up`` (``hangup_seen``)."""
        return hangup_seen(self, self.peer_gone)

    def peer_gone(self) -> bool:
        """The client hung up: the socket reads as end-of-file. Never blocks."""
        try:
            return self.sock.recv(1, _socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def close(self, finished: bool) -> None:
        """End the response and close the descriptor. ``finished``: the client is
        still there, so a chunked response gets its last chunk (one non-blocking
        try: the stream is over either way)."""
        if self.hangup:
            self.hangup.close()
        self.hangup = False
        sock = self.sock
        try:
            if finished and self.chunked and not self.pending:
                sock.send(TERMINATOR)
            sock.recv(16384)  # as pywsgi: unread input at close would reset the connection
        except OSError:
            pass
        sock.close()


class Waker:
    """A parked stream's ``Subscriber.wakeup``: what would have woken its waiting
    greenlet spawns one instead (``stream.resume``), at most one at a time. A
    heartbeat alone is sent from the pinger's greenlet (``stream.ping_nowait``),
    without spawning. ``running``: a resumed greenlet is on its way or running; it
    clears it when it parks again."""

    __slots__ = ("stream", "running")

    def __init__(self, stream) -> None:
        self.stream = stream
        self.running = False

    def set(self) -> None:
        if self.running:
            return  # the running greenlet looks at the subscriber before it parks again
        stream = self.stream
        if stream.ping_nowait():
            return
        self.running = True
        stream.sub.parked = False  # live items queue (in order) until it parks again
        if stream.metrics is not None:
            stream.metrics.resumes.inc()
        RESUMED.spawn(stream.resume)

    def clear(self) -> None:
        """Nothing to clear: the resumed greenlet never waits on it."""

    def is_set(self) -> bool:
        return self.running
