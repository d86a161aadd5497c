"""topic: the fan-out shared by every source: one file's items to its subscribers,
the subscribers' bounded inboxes, the heartbeat pinger, and the registry that keeps
one topic (so one tailer or one Redis reader) per file while anyone watches it.

The first subscriber opens a topic, the last one leaving closes it: watching a
directory of 10,000 files costs nothing until someone looks. A published item is
offered to every subscriber's bounded queue as the same object (its bytes are
encoded once per filter, lazily, by whichever subscriber needs them first). A
subscriber whose queue overflows is not fed from memory any more: its queue is
dropped and it catches up from the file (promise: no client slows down another,
memory stays bounded, nothing is lost). Never blocks; never does I/O itself.
"""

from __future__ import annotations

import logging
import time
from collections import deque

import gevent
import gevent.event

log = logging.getLogger(__name__)

TAKE_BYTES = 64 * 1024  # most bytes of queued lines a client's greenlet writes at once
EMPTY = ()  # a subscriber's queue while nothing waits in it: an empty deque is 0.76 KB per client


class Subscriber:
    """One client's inbox, across one or more topics (a merged stream).

    The queue holds the shared items themselves; only a merged stream's queue
    wraps each in an ``(index, item)`` pair. A stalled client's queue can hold
    thousands of small batches, and a pair per entry per client was most of the
    server's memory (and of the garbage collector's work) with 200 stalled clients.
    An idle client's queue is the shared ``EMPTY`` tuple, not a deque: a deque
    allocates a 64-entry block at once, 0.76 KB per idle stream
    (``bench/idle_memory.py``); it is made at the first item queued and let go
    when the queue is emptied.
    """

    __slots__ = ("queue", "queued_bytes", "limit", "merged", "overflowed", "wakeup", "closed", "ping_due",
                 "last_sent", "parked", "direct")

    def __init__(self, limit: int, merged: bool = False) -> None:
        self.queue: deque | tuple = EMPTY  # items, or (index, item) pairs if merged
        self.queued_bytes = 0
        self.limit = limit
        self.merged = merged
        self.overflowed = False
        self.wakeup = gevent.event.Event()
        self.closed = False
        self.ping_due = False
        self.last_sent = time.monotonic()
        self.parked = False  # nothing queued, its greenlet waiting or gone (parking.py)
        self.direct = None  # callable(index, item) -> bool: deliver without waking it
        # self.wakeup: a gevent Event while a greenlet serves it; a parking.Waker once parked

    def offer(self, index: int, item) -> None:
        if self.overflowed:
            return  # it will catch up from the file
        if self.parked and self.direct is not None and not self.queue and self.direct(index, item):
            return  # written to its socket already: no greenlet switch
        if self.queued_bytes + item.size > self.limit and self.queue:
            self.queue = EMPTY
            self.queued_bytes = 0
            self.overflowed = True
        else:
            if self.queue is EMPTY:
                self.queue = deque()
            self.queue.append((index, item) if self.merged else item)
            self.queued_bytes += item.size
        self.wakeup.set()

    def take(self, budget: int = TAKE_BYTES) -> list[tuple[int, object]]:
        """The oldest queued items as ``(index, item)``, about ``budget`` bytes of
        them (at least one). The client's greenlet copies what it takes into one
        write: taking a slow client's whole queue at once would copy megabytes of
        shared batches into its private buffer, per client."""
        queue = self.queue
        if self.queued_bytes <= budget:
            entries = list(queue)
            self.queue = EMPTY
            self.queued_bytes = 0
            self.wakeup.clear()
        else:
            entries, taken = [], 0
            size = (lambda entry: entry[1].size) if self.merged else (lambda entry: entry.size)
            while queue and (not entries or taken + size(queue[0]) <= budget):
                entries.append(queue.popleft())
                taken += size(entries[-1])
            self.queued_bytes -= taken
        return entries if self.merged else [(0, item) for item in entries]

    def interrupt(self) -> None:
        """Wake the client's greenlet (shutdown)."""
        self.closed = True
        self.wakeup.set()


class Pinger:
    """One greenlet wakes every idle client once per heartbeat, instead of a timer
    per wait: creating a gevent Timeout on every wake-up cost 10-20% of the server
    under load. Idle clients that went away are noticed at their ping."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.subscribers: set = set()
        self._greenlet: gevent.Greenlet | None = None

    def add(self, sub) -> None:
        self.subscribers.add(sub)
        if self._greenlet is None and self.interval:
            self._greenlet = gevent.spawn(self._run)

    def discard(self, sub) -> None:
        self.subscribers.discard(sub)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _run(self) -> None:
        while True:
            gevent.sleep(self.interval / 4)
            due = time.monotonic() - self.interval
            for sub in list(self.subscribers):
                if sub.last_sent <= due:
                    sub.ping_due = True
                    sub.wakeup.set()


class Topic:
    """One file's fan-out: its subscribers, each with the file's index in its
    stream. A source's topic adds what feeds it (a tailer, a Redis reader)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.subscribers: dict[Subscriber, int] = {}

    def publish(self, item) -> None:
        """Offer ``item`` (a batch of lines or a control item) to every
        subscriber, as the same shared object. Never blocks, never switches
        greenlets (tests/test_greenlets.py): a subscriber's ``direct`` send is one
        non-blocking socket call."""
        for sub, index in self.subscribers.items():
            sub.offer(index, item)


class Topics:
    """The registry of one source: key → topic while anyone subscribes to it.

    The first subscriber opens the topic (``open_topic``: start its tailer or its
    reader), the last one leaving closes it (``close_topic``). A source subclasses
    this and implements those two documented hooks; nothing else is overridden."""

    def __init__(self) -> None:
        self.topics: dict[str, Topic] = {}

    def open_topic(self, key: str) -> Topic:
        """Start following ``key``; raises ``NotFound``/``PathRejected``/``Unavailable``."""
        raise NotImplementedError

    def close_topic(self, topic: Topic) -> None:
        """Stop following ``topic``: its last subscriber left."""
        raise NotImplementedError

    def subscribe(self, key: str, sub: Subscriber, index: int) -> Topic:
        """Join (opening) the topic for ``key``, as file ``index`` of ``sub``'s stream."""
        topic = self.topics.get(key)
        if topic is None:
            topic = self.open_topic(key)  # may switch greenlets (a Redis round trip)
            already = self.topics.get(key)
            if already is not None:  # another client opened it meanwhile
                self.close_topic(topic)
                topic = already
            else:
                self.topics[key] = topic
        topic.subscribers[sub] = index
        return topic

    def unsubscribe(self, topic: Topic, sub: Subscriber) -> None:
        topic.subscribers.pop(sub, None)
        if not topic.subscribers and self.topics.get(topic.key) is topic:
            del self.topics[topic.key]
            self.close_topic(topic)

    def subscriber_count(self) -> int:
        return sum(len(t.subscribers) for t in self.topics.values())

    def close(self) -> None:
        """Shutdown: wake every subscriber's greenlet to say goodbye."""
        for topic in list(self.topics.values()):
            for sub in list(topic.subscribers):
                sub.interrupt()
