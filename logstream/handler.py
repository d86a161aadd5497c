"""handler: one client connection under gevent's pywsgi. Owns the request head's
total deadline and the count of unfinished heads, the per-send write timeout,
chunk framing beside shared bytes, JSON answers to requests the app never sees,
and the socket work a live stream asks of its
connection (a send from another greenlet, a hang-up watch).

Never patches gevent (the entry points do, first); never logs a query string
without removing tokens from it (``access_log``); never holds more than one attribute per
concern on a connection (see ``Handler._awaiting``).
"""

from __future__ import annotations

import errno
import json
import select
import socket
import ssl
from http import HTTPStatus

import gevent
import gevent.event
from gevent import pywsgi

from .access_log import access_line
from .listener import Unfinished
from .parking import ParkedConnection, chunk_parts, hangup_seen


class _HeadTimedOut(BaseException):
    """Thrown into a connection's greenlet when its request head is past the
    deadline. Not an ``Exception``: pywsgi turns those, raised while it parses
    headers, into a 400 with a traceback."""


class Handler(pywsgi.WSGIHandler):
    """One client connection. Besides pywsgi's work: gives each request head a total
    deadline (``header_timeout``) and, under logstream's ``Listener``, counts the
    connection among the unfinished ones while it waits for a head (refusing it at
    once past the caps); bounds how long a write may wait for a client that
    stopped reading; answers malformed requests with JSON; keeps tokens out of
    the access log; and offers a live stream (through
    ``environ["logstream.handler"]``) the socket work it needs: a non-blocking send
    from another greenlet (``send_nowait``, ``pending``, ``flush_pending``), a
    check for a client that hung up while idle (``peer_gone``) and, for an idle
    stream that parks, its socket given away (``detach``)."""

    write_timeout: float | None = None
    header_timeout: float | None = None  # seconds for a whole request head; None: no deadline
    ignored_socket_errors = (*pywsgi.WSGIHandler.ignored_socket_errors, errno.ETIMEDOUT)
    read_buffer = 1024  # bytes; see __init__
    # While a request head is awaited: its deadline and the Unfinished count it is in.
    # One attribute for both: CPython 3.11 shares the keys of instance dicts only up
    # to 30 names per class and pywsgi's handler sets 28; at 30, every connection's
    # dict grew from 296 bytes to 1.5 KB (tests/test_handler.py).
    _awaiting: tuple[gevent.Timeout | None, Unfinished | None] | None = None
    # A live stream's socket state (_Live), made on first use; one attribute, as above.
    _live: _Live | None = None

    def __init__(self, sock, address, server):
        # pywsgi reads requests through an 8 KiB buffer that lives as long as the
        # connection. A request is a few hundred bytes and a live stream never reads
        # again: with 1 KiB, an idle stream's RSS fell from 21.7 to 18.5 KB (scenario
        # E, docs/benchmarks.md). A longer request line or header block still
        # parses; it takes a few more reads.
        super().__init__(sock, address, server, rfile=sock.makefile("rb", self.read_buffer))

    # -- for live streams ------------------------------------------------------------------------
    @property
    def can_send_nowait(self) -> bool:
        """Whether ``send_nowait`` can work on this connection at all: a plain TCP
        socket under gevent's (TLS has no non-blocking partial send we could resume)."""
        return hasattr(self.socket, "_sock") and not isinstance(self.socket, ssl.SSLSocket)

    def ready_to_send_nowait(self) -> bool:
        """Headers are out and nothing is pending: the next bytes may go now."""
        return self.headers_sent and not (self._live is not None and self._live.pending)

    @property
    def pending(self) -> bool:
        """Bytes of a ``send_nowait`` are still waiting for ``flush_pending``."""
        return self._live is not None and bool(self._live.pending)

    @property
    def live(self) -> _Live:
        if self._live is None:
            self._live = _Live()
        return self._live

    def send_nowait(self, data: bytes) -> int | None:
        """Send one response chunk now, from any greenlet, without switching: one
        non-blocking ``sendmsg`` of the chunk framing beside the (shared, uncopied)
        data on the OS socket under gevent's. Returns the bytes the socket took;
        what it did not take is kept (``pending``) for the connection's own greenlet
        to ``flush_pending``. None if it took nothing (it would block, or the client
        is gone: the connection's greenlet finds out which)."""
        parts = chunk_parts(data, self.response_use_chunked)
        try:
            sent = self.socket._sock.sendmsg(parts)
        except OSError:
            return None
        self.response_length += sent
        if sent < sum(map(len, parts)):
            self.live.pending = b"".join(parts)[sent:]
        return sent

    def flush_pending(self) -> None:
        """Send what ``send_nowait`` left, blocking this greenlet under the write
        timeout. Raises ``TimeoutError`` (the client stopped reading) or ``OSError``."""
        live = self.live
        rest, live.pending = live.pending, b""
        self.socket.sendall(rest)
        self.response_length += len(rest)

    def detach(self) -> ParkedConnection:
        """Give this connection's socket to a parked stream (``parking``): the
        descriptor leaves gevent's socket (its watchers dropped, nothing closed),
        and pywsgi ends the request without its last chunk and without reading
        another request, then lets go of this handler, its buffers and the
        environ. Only when ``can_send_nowait`` and nothing is ``pending``. Sends
        the response head first if no body byte has sent it yet (a ``format=text``
        stream with nothing to show): blocks this greenlet under the write timeout,
        raises ``OSError``."""
        if not self.headers_sent:
            self.write(b"")  # pywsgi sends the head with the first write, even an empty one
        if self._live is not None and self._live.hangup:
            self._live.hangup.close()  # on the same descriptor: the parked stream makes its own
            self._live.hangup = None
        conn = ParkedConnection(self.socket.detach(), self.response_use_chunked, self.write_timeout)
        self.response_use_chunked = False  # pywsgi would send the terminator after the body ends
        self.close_connection = True  # …and then wait for the next request on it
        return conn

    def watch_hangup(self, wake) -> None:
        """While a stream waits with nothing to send, call ``wake()`` as soon as the
        client's socket turns readable: a client that closed its connection makes
        it readable (EOF), so its slot, descriptor and subscriptions are freed at
        once instead of at the next heartbeat. One libev I/O watcher per
        connection, started and stopped around each wait: no timer, no greenlet, no
        polling. ``hung_up()`` then tells an EOF from bytes the client sent."""
        live = self.live
        if live.hangup is False:
            return
        if live.hangup is None:
            live.hangup = gevent.get_hub().loop.io(self.socket.fileno(), 1)  # 1: EV_READ
            live.hangup.ref = False  # never keeps the server's loop alive by itself
        live.hangup.start(self._on_readable, wake)

    def unwatch_hangup(self) -> None:
        if self._live is not None and self._live.hangup:
            self._live.hangup.stop()

    def _on_readable(self, wake) -> None:
        live = self._live
        live.hangup.stop()
        live.readable = True
        wake()

    def hung_up(self) -> bool:
        """After a wake by ``watch_hangup``: whether the client closed its
        connection (``parking.hangup_seen``)."""
        return hangup_seen(self._live, self.peer_gone)

    def handle(self):
        try:
            return self._handle()
        finally:
            if self._live is not None and self._live.hangup:
                self._live.hangup.close()
                self._live.hangup = None

    def peer_gone(self) -> bool:
        """An idle client that hung up: its socket reads as end-of-file (no write
        has failed yet to tell us). Never blocks."""
        try:
            readable, _, _ = select.select([self.socket], [], [], 0)
            return bool(readable) and self.socket.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _handle(self):
        if self.socket.family in (socket.AF_INET, socket.AF_INET6):
            # A live stream is many small writes. With Nagle's algorithm on, a write
            # made while the previous one is unacknowledged waits for the peer's
            # delayed ACK (40 ms on Linux): that, not the fan-out, was most of
            # scenario B's p99 (docs/benchmarks.md).
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.write_timeout:
            # A stuck client (TCP window full) is cut off instead of pinning a
            # greenlet and its buffers forever; it resumes by id like any other.
            self.socket.settimeout(self.write_timeout)
        try:
            return super().handle()
        except OSError:
            # pywsgi sends its error answers (400, 408, 414) unguarded: a client that
            # went away meanwhile is no server error, and deserves no traceback.
            pass

    def finalize_headers(self):
        """As pywsgi's, but a ``HEAD`` answer is never framed in chunks: its head is
        the one a ``GET`` would get (``Transfer-Encoding: chunked`` included) and
        nothing follows it (RFC 9110 9.3.2). pywsgi would end it with the last
        chunk, ``0\r\n\r\n``, which a keep-alive client reads as the start of
        its next response (every streamed answer: a stream, a search, a range)."""
        super().finalize_headers()
        if self.command == "HEAD":
            self.response_use_chunked = False

    def get_environ(self):
        environ = super().get_environ()
        # One key (the socket is the handler's): every key an idle stream's environ
        # holds is kept for the connection's life.
        environ["logstream.handler"] = self  # for the direct-write path of live streams
        return environ

    def _write(self, data):
        if not data:
            return
        if self.response_use_chunked:
            # The chunk's framing goes out beside the data in one sendmsg instead
            # of being glued to a copy of it (pywsgi's way): a live batch's bytes
            # are shared by every client, a copy per client is not.
            self._sendall(b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self._sendall(data)

    def _sendall(self, *parts):
        # gevent's sendall applies the socket timeout to the whole call; a client
        # that reads slowly but steadily would be cut off in the middle of a big
        # chunk. Here the timeout is per send: only a client that makes no
        # progress for --write-timeout seconds is stuck.
        sock = self.socket
        views = [memoryview(p) for p in parts if p]
        total = sum(map(len, views))
        gather = len(views) > 1 and not isinstance(sock, ssl.SSLSocket)  # TLS has no sendmsg
        if len(views) > 1 and not gather:
            views = [memoryview(b"".join(views))]
        try:
            while views:
                sent = sock.sendmsg(views) if gather else sock.send(views[0])
                while sent:
                    if sent < len(views[0]):
                        views[0] = views[0][sent:]
                        break
                    sent -= len(views.pop(0))
        except TimeoutError:
            if self.environ is not None:
                self.environ["logstream.disconnect"] = "write_timeout"
            self.status = "socket error: write timed out"
            raise OSError(errno.ETIMEDOUT, "client stopped reading") from None
        except OSError as ex:
            self.status = f"socket error: {ex}"
            if self.code > 0:
                self.code = -self.code
            raise
        self.response_length += total

    def handle_one_request(self):
        # Promise: safe to expose. The socket timeout restarts with every byte, so a
        # client dripping its head a byte at a time would hold the connection
        # forever; the head gets one total budget instead, which ends in
        # ``read_request`` once the headers are in (a stream's own time is not
        # the head's). A keep-alive connection waiting for its next request waits
        # under the same budget (nginx's keepalive_timeout, folded into one).
        # While it waits, it is counted: a flood of connections that never finish
        # asking is refused before it takes every descriptor.
        self.requestline = None  # set once a whole request line is in
        unfinished = getattr(self.server, "unfinished", None)  # pywsgi's own server has none
        if unfinished is not None:
            refused = unfinished.enter(self.client_address[0])
            if refused:
                return self._refuse(refused)
        deadline = gevent.Timeout.start_new(self.header_timeout, _HeadTimedOut) if self.header_timeout else None
        if deadline is not None or unfinished is not None:
            self._awaiting = (deadline, unfinished)
        try:
            result = super().handle_one_request()
        except _HeadTimedOut:
            if not self.requestline:
                return None  # nothing asked (a silent client, an idle keep-alive): just close
            if unfinished is not None:
                unfinished.rejected(408)
            result = ("408", b"")
        finally:
            self._end_head()
        if isinstance(result, tuple):  # a request pywsgi refused before the app saw it
            self.environ = None  # not the previous request's on this connection (format_request)
            result = (result[0], _raw_json_error(int(result[0])))
        return result

    def read_request(self, raw_requestline):
        try:
            return super().read_request(raw_requestline)
        finally:
            self._end_head()  # the head is in (or refused): no deadline for the app

    def _end_head(self) -> None:
        if self._awaiting is None:
            return
        deadline, unfinished = self._awaiting
        self._awaiting = None
        if deadline is not None:
            deadline.close()
        if unfinished is not None:
            unfinished.leave(self.client_address[0])

    def _refuse(self, status: int) -> None:
        """Turn a connection away at once, past the caps on unfinished heads."""
        if self.environ is None and not isinstance(self.socket, ssl.SSLSocket):
            # A new connection may well have sent a whole request: tell it why. One
            # between keep-alive requests is just closed (clients expect that), and
            # so is TLS, whose handshake could make us wait.
            answer = _raw_json_error(status, "too many unfinished requests; try again later", ("Retry-After", "5"))
            try:
                self.socket.send(answer)
            except OSError:
                pass
        return None  # closes the connection

    def _handle_client_error(self, ex):
        if isinstance(ex, (ConnectionError, TimeoutError, ssl.SSLError)):
            # The connection broke or timed out in the middle of the headers: there
            # is no one to answer, and nothing for an operator to debug (pywsgi
            # treats the same break during the request line so, but prints a
            # traceback here).
            return None
        return super()._handle_client_error(ex)

    def _send_error_response_if_possible(self, error_code):
        if self.response_length:
            self.close_connection = True
            return
        status, headers, body = _json_error(error_code)
        try:
            self.start_response(status, headers)
            self.write(body)
        except OSError:
            self.close_connection = True

    def format_request(self):
        return access_line(super().format_request(), self.environ or {})


class _Live:
    """A live stream's socket state on its ``Handler``: bytes a ``send_nowait``
    left (``pending``), the hang-up watcher (``hangup``: None before the first
    wait, False once the client sent bytes) and whether it fired (``readable``)."""

    __slots__ = ("pending", "hangup", "readable")

    def __init__(self) -> None:
        self.pending = b""
        self.hangup = None
        self.readable = False


def _json_error(code: int, message: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
    phrase = HTTPStatus(code).phrase
    body = json.dumps({"error": message or phrase.lower()}).encode()
    return f"{code} {phrase}", [("Content-Type", "application/json"), ("Connection", "close"),
                                ("Content-Length", str(len(body)))], body


def _raw_json_error(code: int, message: str | None = None, *extra: tuple[str, str]) -> bytes:
    """A whole JSON error response, head and body, for a socket the app never saw."""
    status, headers, body = _json_error(code, message)
    head = "".join(f"{name}: {value}\r\n" for name, value in [*headers, *extra])
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body
