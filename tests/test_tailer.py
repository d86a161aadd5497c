"""The tailer alone, driven by hand (no watcher, no server): how it turns appends
into batches."""

from logstream.tailer import Batch, Tailer


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

    from logstream.tailer import Change

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
