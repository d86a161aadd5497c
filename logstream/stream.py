"""stream: one client's event stream over one or more files: the client loop only.

Owns the order of a stream's life (the opening ``retry:``, what was decided at
start, catching up, then live items as they come), its heartbeats, its end (the
client went away, the server shuts down, the source stopped answering) and the
subscriber's bounded inbox. What a file's lines are, where they start and how a
gap is filled belongs to each file's ``Follower`` (``sources``); what bytes they
become belongs to the ``Encoder``; socket work (a send from another greenlet, a
hung-up peer) to the server's handler. Releases its subscriptions in ``close()``,
which the WSGI server calls when the client goes away (also before the first chunk
was sent); a parked stream (``parking``: idle, its connection greenlet ended)
releases them itself when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import MappingProxyType

from . import scopes
from .encode import Encoder
from .errors import BadEventId, SourceGone
from .parking import ParkedConnection, Waker
from .position import malformed, split_id
from .sources.base import GAP, Follower
from .topic import Subscriber

CAUGHT_UP = "caught up"  # the comment after the backlog (README "Events")
NO_ENVIRON = MappingProxyType({})  # a parked stream's: the request's environ is let go


class Stream:
    """An iterable of response chunks. ``close()`` releases everything.

    ``params`` (``api.params.StreamParams``): ``paths`` (one or more, in the
    client's order), ``lines`` (backlog), ``last_id`` (or None), ``format`` and
    ``query``. ``environ`` may carry the server's handler
    (``logstream.handler``) for the direct-write path, hang-up checks and parking
    (an idle stream then lets go of the environ and the handler). Raises
    what the source raises for a path (``NotFound``, ``PathRejected``,
    ``Unavailable``), having released whatever it had taken."""

    def __init__(self, source, params, *, config, environ: dict | None = None, shutdown=None, metrics=None,
                 on_close=None, pinger=None) -> None:
        self.config = config
        self.lines: int = params.lines
        self.since: float | None = getattr(params, "since", None)
        self.last_id: str | None = params.last_id
        self.merged = len(params.paths) > 1
        self.encoder = Encoder(format=params.format, query=params.query, merged=self.merged,
                               group=getattr(params, "group", False))
        self.environ = environ if environ is not None else {}
        self.handler = self.environ.get("logstream.handler")
        self.on_close = on_close
        self.end_reason = "client_gone"
        self.shutdown = shutdown
        self.metrics = metrics
        self.pinger = pinger
        self.sub = Subscriber(config.queue_bytes, merged=self.merged)
        if self.handler is not None and self.handler.can_send_nowait:
            self.sub.direct = self._send_direct
        self.followers: list[Follower] = []
        self.disconnect: str | None = None  # why the client was let go, if a write failed
        self.scope = None  # a parked stream's: the request's scope (scopes), for its resumed greenlets
        self._closed = False
        try:
            for index, rel in enumerate(params.paths):
                self.followers.append(source.follower(self, rel, index))
            self._start()
        except BaseException:
            # Never opened: let go of the subscriptions only. The caller undoes its
            # own admission, and no stream was counted as open.
            self.on_close = self.metrics = None
            self.close()
            raise

    def close(self) -> None:
        """The response ended (the WSGI server calls this): release everything,
        unless the stream parked (``resume`` releases it when it ends)."""
        if not isinstance(self.handler, ParkedConnection):
            self._release()

    def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.pinger is not None:
            self.pinger.discard(self.sub)
        for follower in self.followers:
            follower.close()
        if self.on_close is not None:
            self.on_close()
        if self.metrics is not None:
            self.metrics.stream_closed(self.disconnect or self.environ.get("logstream.disconnect", self.end_reason))

    def __iter__(self) -> Iterator[bytes]:
        if self.pinger is not None:
            self.pinger.add(self.sub)
        return self._counted(self._run())

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        sent = self.metrics.bytes_sent if self.metrics is not None else None
        sub = self.sub
        try:
            for chunk in chunks:
                sub.last_sent = time.monotonic()
                if sent is not None:
                    sent.value += len(chunk)
                yield chunk
        except SourceGone as exc:
            # The client reconnects by id, to this node or another.
            self.end_reason = exc.reason
            farewell = self.encoder.comment(exc.farewell)
            if farewell:
                yield farewell

    def id_parts(self, index: int) -> tuple[str, str]:
        """A merged stream's id around file ``index``: the other files' positions
        before and after it, each with its comma (``""`` for a single file)."""
        if not self.merged:
            return "", ""
        parts = [f.token() for f in self.followers]
        left = "".join(p + "," for p in parts[:index])
        right = "".join("," + p for p in parts[index + 1 :])
        return left, right

    # -- where each file starts ------------------------------------------------------------------
    def _start(self) -> None:
        followers = self.followers
        for follower in followers:
            follower.prepare()
        positions: list = [None] * len(followers)
        reason = None
        if self.last_id is not None:
            try:
                parsed = [f.parse_position(part)
                          for f, part in zip(followers, split_id(self.last_id, len(followers)), strict=True)]
                if None in parsed:
                    raise malformed(self.last_id)
                positions = parsed
            except BadEventId as exc:
                reason = exc.message
        for follower, position in zip(followers, positions, strict=True):
            follower.start(position, reason, self.last_id)

    # -- the loop --------------------------------------------------------------------------------
    def _run(self) -> Iterator[bytes]:
        encoder = self.encoder
        opening = encoder.opening(self.config.retry)
        if opening:
            yield opening
        for follower in self.followers:
            notices = follower.notices()
            if notices:
                yield notices
        for follower in self.followers:
            yield from follower.catch_up()
        # The backlog (or what a resume missed) is all sent: a client may now tell
        # "nothing there" from "still reading" (the viewer's empty states).
        caught_up = encoder.comment(CAUGHT_UP)
        if caught_up:
            yield caught_up
        yield from self._live()

    def _live(self) -> Iterator[bytes]:
        """Live items as they come, until the stream ends or parks (returns either way)."""
        encoder, handler, sub = self.encoder, self.handler, self.sub
        heartbeat = self.config.heartbeat or None
        while True:
            if handler is not None and handler.hung_up():
                return
            if handler is not None and handler.pending:
                try:
                    handler.flush_pending()  # under the handler's write timeout
                except OSError as exc:
                    self.disconnect = "write_timeout" if isinstance(exc, TimeoutError) else "client_gone"
                    return
            if sub.closed or self.shutdown is not None and self.shutdown.is_set():
                self.end_reason = "shutdown"
                farewell = encoder.comment("server shutting down; reconnect with your last event id")
                if farewell:
                    yield farewell
                return
            if sub.overflowed:
                sub.overflowed = False
                if self.metrics is not None:
                    self.metrics.catchup()
                for follower in self.followers:
                    yield from follower.catch_up()
                continue
            held = self._held_groups() if encoder.group else b""
            if held:
                yield held
                continue
            if not sub.queue:
                if sub.ping_due:
                    sub.ping_due = False
                    if handler is not None and handler.peer_gone():
                        return
                    ping = encoder.comment("ping")
                    if ping:
                        yield ping
                    continue
                sub.wakeup.clear()  # it may still be set by an overflow; nothing can run in between
                if self._may_park():
                    self._park()
                    return  # the connection greenlet ends; the stream lives on, parked
                if handler is not None:
                    handler.watch_hangup(sub.wakeup.set)  # a client that hangs up wakes us at once
                hold = self._hold_timeout() if encoder.group else None
                try:
                    if hold is not None:
                        # group=1: an open group is sent when its hold expires (no greenlet per client)
                        sub.wakeup.wait(hold if heartbeat is None or self.pinger is not None else min(hold, heartbeat))
                    elif self.pinger is not None:
                        sub.parked = True  # from now on the publisher may write for us
                        sub.wakeup.wait()  # the pinger wakes us once per heartbeat
                    elif not sub.wakeup.wait(heartbeat):
                        sub.ping_due = True
                finally:
                    sub.parked = False
                    if handler is not None:
                        handler.unwatch_hangup()
                continue
            out: list[bytes] = []
            for index, item in sub.take():
                follower = self.followers[index]
                chunk = follower.apply(item)
                if chunk is GAP:
                    if out:
                        yield b"".join(out)
                        out = []
                    yield from follower.catch_up()
                elif chunk:
                    out.append(chunk)
            if out:
                yield b"".join(out)

    # -- parked: no greenlet while idle (parking.py) ---------------------------------------------
    def _may_park(self) -> bool:
        """Idle with a heartbeat pinger, on a connection that can give its socket
        away (a plain TCP one under logstream's own server), and not holding a
        group (its hold needs a timed wait)."""
        return (self.sub.direct is not None and self.pinger is not None and not self.encoder.group
                and not self.handler.pending)

    def _park(self) -> None:
        sub = self.sub
        conn = self.handler
        if not isinstance(conn, ParkedConnection):  # the first time: take the socket from pywsgi
            self.disconnect = self.environ.get("logstream.disconnect")
            self.scope = scopes.current()
            self.handler = conn = conn.detach()
            self.environ = NO_ENVIRON
            sub.wakeup = Waker(self)
            conn.watch_hangup(sub.wakeup.set)  # a client that hangs up resumes the stream, which ends
        sub.wakeup.running = False
        sub.parked = True  # from now on the publisher writes for us
        if conn.readable:  # the client hung up (or wrote) while the stream was running
            sub.wakeup.set()

    def resume(self) -> None:
        """A parked stream's loop again, in a greenlet of its own (spawned by its
        ``Waker``): send what is due under the write timeout, then park again, or
        end: the last chunk, the descriptor closed, the stream released."""
        scopes.bind(self.scope)  # a greenlet starts with no scope: the request's, for the path gate
        conn = self.handler
        try:
            for chunk in self._counted(self._live()):
                conn.send(chunk)
        except OSError as exc:
            self.disconnect = "write_timeout" if isinstance(exc, TimeoutError) else "client_gone"
        finally:
            if not self.sub.parked:  # it did not park again: the stream is over
                conn.close(finished=self.disconnect is None)
                self._release()

    def ping_nowait(self) -> bool:
        """Parked, with only a heartbeat due: send it from the caller's greenlet (the
        pinger's) without spawning one. False: the stream's loop is needed (anything
        queued, the socket would not take it all, a hang-up to look at, shutdown)."""
        sub, conn = self.sub, self.handler
        if (not sub.ping_due or sub.queue or sub.overflowed or sub.closed or conn.pending or conn.readable
                or not conn.hangup or self.shutdown is not None and self.shutdown.is_set()):
            return False
        ping = self.encoder.comment("ping")
        sent = conn.send_nowait(ping) if ping else 0
        if sent is None:
            return False  # the loop checks the peer, then sends it under the write timeout
        sub.ping_due = False
        sub.last_sent = time.monotonic()
        if self.metrics is not None:
            self.metrics.bytes_sent.inc(sent)
        return not conn.pending

    def _held_groups(self) -> bytes:
        """group=1: the open groups whose hold has expired."""
        now = time.monotonic()
        return b"".join([f.expire(now) for f in self.followers if f.hold_until is not None])

    def _hold_timeout(self) -> float | None:
        """Seconds until the first open group's hold expires, or None."""
        holds = [f.hold_until for f in self.followers if f.hold_until is not None]
        return max(0.0, min(holds) - time.monotonic()) if holds else None

    def _send_direct(self, index: int, item) -> bool:
        """Deliver a live item from the publishing greenlet, while this client's
        own greenlet stays parked: one non-blocking send of the shared bytes, no
        greenlet switch, no WSGI layers (the fan-out's main cost). Anything else,
        or a socket that would block, goes the normal way (False)."""
        handler = self.handler
        if not handler.ready_to_send_nowait():
            return False
        follower = self.followers[index]
        chunk = follower.live_chunk(item)
        if chunk is None:
            return False
        sent = 0
        if chunk:
            sent = handler.send_nowait(chunk)
            if sent is None:  # would block, or the client is gone: the greenlet finds out
                return False
            if handler.pending:
                self.sub.wakeup.set()  # the client's greenlet sends the rest
        self.sub.last_sent = time.monotonic()
        follower.delivered(item, self.sub.last_sent)
        if self.metrics is not None:
            self.metrics.bytes_sent.inc(sent)
        return True
