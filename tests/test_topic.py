"""Subscriber queues: what a slow client costs while it waits, and how much of it
its greenlet takes into one write."""

import tracemalloc

from logstream.lines import Lines
from logstream.segments import Batch, Change, Cursor
from logstream.topic import TAKE_BYTES, Subscriber


def batch(n: int, size: int = 100) -> Batch:
    start = n * size
    return Batch(1, 7, start, start + size, Lines([f"line {n}"], [start + size]))


def test_take_writes_a_slow_clients_backlog_in_bounded_slices_in_order():
    sub = Subscriber(limit=10 * 1024 * 1024)
    items = [batch(n, 1000) for n in range(1000)]  # 1 MB queued
    for item in items:
        sub.offer(0, item)
    slices = []
    while sub.queue:
        slices.append(sub.take())
    assert all(sum(item.size for _, item in s) <= TAKE_BYTES for s in slices)
    assert [item for s in slices for _, item in s] == items
    assert all(index == 0 for s in slices for index, _ in s)
    assert sub.queued_bytes == 0
    assert not sub.wakeup.is_set()  # set by the offers, cleared by the last take


def test_take_returns_one_item_bigger_than_the_budget():
    sub = Subscriber(limit=10 * 1024 * 1024)
    big = batch(0, 3 * TAKE_BYTES)
    sub.offer(0, big)
    sub.offer(0, batch(1))
    sub.offer(0, batch(2))
    assert sub.take() == [(0, big)]
    assert [item.start for _, item in sub.take()] == [1 * 100, 2 * 100]


def test_merged_subscriber_keeps_each_items_file_index():
    sub = Subscriber(limit=1 << 20, merged=True)
    change = Change("truncate", Cursor(1, 10), Cursor(2, 0), 7)
    sub.offer(1, batch(0))
    sub.offer(0, change)
    sub.offer(1, batch(1))
    assert [(index, type(item).__name__) for index, item in sub.take()] == [(1, "Batch"), (0, "Change"), (1, "Batch")]


def test_a_queued_batch_costs_a_stalled_client_a_pointer_not_a_copy():
    # 200 stalled clients, 5,000 small batches each (G in bench/): the batches are
    # shared, so what each client's queue adds per entry must be a few bytes. A
    # tuple per entry per client (56+ bytes) was most of the server's memory.
    batches = [batch(n) for n in range(5000)]
    subs = [Subscriber(limit=1 << 30) for _ in range(200)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for item in batches:
            for sub in subs:
                sub.offer(0, item)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    per_entry = grown / (len(batches) * len(subs))
    assert per_entry < 16, f"{per_entry:.1f} bytes per queued entry"
    assert all(len(sub.queue) == len(batches) for sub in subs)


def test_overflow_drops_the_queue_and_stops_queueing():
    sub = Subscriber(limit=1000)
    for n in range(20):
        sub.offer(0, batch(n))
    assert sub.overflowed
    assert sub.queued_bytes <= 1000
    assert len(sub.queue) <= 10
