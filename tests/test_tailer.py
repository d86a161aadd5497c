"""The tailer alone, driven by hand (no watcher, no server): how it turns appends
into batches."""

import os

import pytest

from logstream.segments import Batch, Change
from logstream.tailer import Tailer


def test_lines_appended_during_a_fan_out_go_out_together_on_the_next_turn(tmp_path):
    # Publishing a batch to many clients takes a while, and a busy writer appends
    # meanwhile. Those lines must wait for the next (paced) turn and leave as one
    # batch, not be read at once in a run of one-line batches that the pacing never
    # sees: that made every client get a write per line.
    path = tmp_path / "app.log"
    path.write_bytes(b"old\n")
    batches: list[list[str]] = []

    def publish(item):
        if isinstance(item, Batch):
            batches.append(list(item.lines.texts))
            if len(batches) == 1:  # the writer, while the first batch is fanned out
                with open(path, "ab") as f:
                    f.write(b"two\n")
                with open(path, "ab") as f:
                    f.write(b"three\n")

    tailer = Tailer(tmp_path, "app.log", max_line=1000, poll_interval=60, publish=publish)
    tailer.start()  # at the end: "old" is history, not news
    try:
        with open(path, "ab") as f:
            f.write(b"one\n")
        tailer.check()
        assert batches == [["one"]]
        tailer.check()  # the next turn: woken by the writer's appends
        assert batches == [["one"], ["two", "three"]]
        tailer.check()  # nothing new: nothing published
        assert len(batches) == 2
        assert tailer.offset == path.stat().st_size
    finally:
        tailer.stop()


def test_a_burst_bigger_than_a_block_is_read_in_one_turn(tmp_path):
    # Only a short read (the end of what is there) ends a turn; a backlog of many
    # blocks is read through, so a burst is not slowed to one block per wake-up.
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    seen: list[int] = []
    tailer = Tailer(tmp_path, "app.log", max_line=1000, poll_interval=60,
                    publish=lambda item: seen.append(len(item.lines)) if isinstance(item, Batch) else None)
    tailer.start()
    try:
        line = b"x" * 99 + b"\n"
        with open(path, "ab") as f:
            f.write(line * 10_000)  # 1 MB: four blocks
        tailer.check()
        assert sum(seen) == 10_000 and len(seen) > 1
    finally:
        tailer.stop()


def test_a_check_resumed_after_stop_reads_no_closed_descriptor(tmp_path):
    # A long read yields to other greenlets every few MiB (and an agent's publish
    # yields on Redis). If the last client leaves meanwhile, stop() closes the
    # descriptors; the check must then end quietly, not read a closed (or, worse,
    # reused) descriptor: "check failed -> TypeError: 'NoneType' object cannot be
    # interpreted as an integer", seen at shutdown in a fault-injection run.
    import gevent

    from logstream.tailer import READ_PER_TURN

    path = tmp_path / "app.log"
    path.write_bytes(b"")
    published = []
    tailer = Tailer(tmp_path, "app.log", max_line=1000, poll_interval=60, publish=published.append)
    tailer.start()
    line = b"x" * 99 + b"\n"
    with open(path, "ab") as f:
        f.write(line * (3 * READ_PER_TURN // len(line)))
    check = gevent.spawn(tailer.check)
    try:
        gevent.sleep(0)  # the check reads READ_PER_TURN bytes, then yields
        assert published, "the check should have published before yielding"
        tailer.stop()
        check.join(5)
        assert check.successful(), check.exception
        assert tailer.current is None or tailer.current.fd is None
    finally:
        check.kill()
        tailer.stop()


def test_two_rotations_between_checks_read_the_file_in_between(tmp_path):
    # app.log rotated twice before the tailer looked again: the app.log.1 in the
    # middle was never the followed file, and its lines were skipped.
    import os

    log = tmp_path / "app.log"
    log.write_bytes(b"a0\n")
    items = []
    tailer = Tailer(tmp_path, "app.log", max_line=1000, poll_interval=60, publish=items.append)
    tailer.start()
    try:
        with open(log, "ab") as f:
            f.write(b"b0\n")
        os.rename(log, tmp_path / "app.log.1")
        log.write_bytes(b"c0\nc1\n")
        os.rename(tmp_path / "app.log.1", tmp_path / "app.log.2")
        os.rename(log, tmp_path / "app.log.1")
        log.write_bytes(b"d0\n")
        tailer.check()
        seen = [text for item in items if isinstance(item, Batch) for text in item.lines.texts]
        assert seen == ["b0", "c0", "c1", "d0"]
        rotates = [item for item in items if isinstance(item, Change) and item.kind == "rotate"]
        assert len(rotates) == 2
        assert rotates[1].before.seq == rotates[0].after.seq  # in order: app.log.1 between the two
    finally:
        tailer.stop()


@pytest.fixture
def follow(tmp_path):
    """``follow(content)``: app.log with ``content`` (None: leave it as it is), and a
    tailer following it from its end: (path, tailer, items it published)."""
    tailers = []

    def start(content: bytes | None):
        path = tmp_path / "app.log"
        if content is not None:
            path.write_bytes(content)
        items: list = []
        tailers.append(Tailer(tmp_path, "app.log", max_line=65_536, poll_interval=60, publish=items.append))
        tailers[-1].start()
        return path, tailers[-1], items

    yield start
    for tailer in tailers:
        tailer.stop()


def write_at(path, offset: int, data: bytes) -> None:
    """Write in place, as a writer without O_APPEND (or through a memory map) does."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def lines_of(items) -> list[str]:
    return [text for item in items if isinstance(item, Batch) for text in item.lines.texts]


def test_a_hole_left_by_a_writer_at_its_old_offset_after_copytruncate_is_skipped(tmp_path, follow):
    path = tmp_path / "app.log"
    with open(path, "wb") as writer:  # no O_APPEND: its offset survives the truncation
        writer.write(b"x" * 65_599 + b"\n")
        writer.flush()
        _, tailer, items = follow(None)
        os.truncate(path, 0)
        tailer.check()
        writer.write(b"marker\n")  # at offset 65,600: the file is now a hole, then marker
    tailer.check()
    assert [i.kind for i in items if isinstance(i, Change)] == ["truncate"]
    assert lines_of(items) == ["marker"]
    assert (items[-1].start, items[-1].end) == (0, 65_607)  # ids stay byte positions


def test_nuls_at_the_end_are_read_again_when_they_are_overwritten_in_place(follow):
    # A preallocated or memory-mapped log (log4j's MemoryMappedFileAppender): the
    # file grows by zeros first, and lines are written over them later, in place.
    path, tailer, items = follow(b"first\n")
    os.truncate(path, 6 + 300_000)  # more than a block of zeros at the end
    tailer.check()
    assert items == [] and tailer.offset == 6
    write_at(path, 6, b"second\n")
    tailer.check()
    assert lines_of(items) == ["second"] and items[-1].end == 13
    assert not [i for i in items if isinstance(i, Change)]  # not mistaken for a truncation
    write_at(path, 13, b"third\n")
    tailer.check()
    assert lines_of(items) == ["second", "third"]


def test_a_file_rotated_away_with_nuls_at_its_end_ends_at_its_last_line(follow):
    # The segment ends where its text ends: a client at the last line is not told
    # that the zeros after it were lost.
    path, tailer, items = follow(b"old\n")
    with open(path, "ab") as f:
        f.write(b"\0" * 100)
    tailer.check()
    os.rename(path, path.with_name("app.log.1"))
    path.write_bytes(b"new\n")
    tailer.check()
    rotate = [i for i in items if isinstance(i, Change)][0]
    assert rotate.kind == "rotate" and rotate.before.offset == 4
    assert lines_of(items) == ["new"]


def test_a_sparse_hole_is_jumped_not_read(follow, monkeypatch):
    path, tailer, items = follow(b"")
    read = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, at: read.append(n) or real(fd, n, at))
    write_at(path, 1 << 30, b"marker\n")
    tailer.check()
    assert lines_of(items) == ["marker"] and items[-1].end == (1 << 30) + 7
    assert sum(read) < 4 << 20  # not the GiB of zeros
