"""A path's history is one sequence of lines across its rotations (renamed,
copytruncated, compressed): paging back from the end to the start and forward
again yields exactly those lines, each once, in order, with the ids the live
stream gives them; ``around`` and ``since`` agree with a brute-force reference
over the same bytes, cut by the one definition of a line."""

import bz2
import gzip
import lzma
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstream.errors import BadRequest, NotFound, PathRejected, Unsupported
from logstream.history import History, Place
from logstream.lines import LineSplitter
from logstream.timeline import line_time, seek_time

COMPRESS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}
MAX_LINE = 64

texts = st.text(st.sampled_from("ab x\r\t\0é"), max_size=90)
line_bytes = st.one_of(texts.map(lambda t: t.encode()), st.just(b"\xef\xbb\xbfbom"), st.just(b"\0\0\0hole"),
                       st.binary(max_size=20).filter(lambda b: b"\n" not in b))
# A history: appends (lines, maybe an unfinished last one) and rotations.
steps = st.lists(st.one_of(
    st.tuples(st.just("append"), st.lists(line_bytes, max_size=25), st.booleans()),
    st.tuples(st.just("rotate"), st.sampled_from(["rename", "copytruncate"]),
              st.sampled_from([None, "gz", "bz2", "xz"])),
), min_size=1, max_size=8)


def rotate(log: Path, how: str, compress: str | None) -> None:
    """logrotate: shift the numbered siblings up, then app.log to app.log.1 (by
    rename, or by copy and truncate); then compress app.log.2 (delaycompress)."""
    numbered = []
    for p in log.parent.iterdir():
        rest = p.name[len(log.name) + 1:]
        if p.name.startswith(log.name + ".") and rest.split(".")[0].isdigit():
            numbered.append((int(rest.split(".")[0]), p, rest[len(rest.split(".")[0]):]))
    for n, p, suffix in sorted(numbered, reverse=True):
        os.rename(p, log.parent / f"{log.name}.{n + 1}{suffix}")
    if how == "rename":
        if log.exists():
            os.rename(log, log.parent / f"{log.name}.1")
        log.touch()
    else:
        shutil.copyfile(log, log.parent / f"{log.name}.1")
        os.truncate(log, 0)
    second = log.parent / f"{log.name}.2"
    if compress and second.exists():
        (log.parent / f"{log.name}.2.{compress}").write_bytes(COMPRESS[compress](second.read_bytes()))
        second.unlink()


def build(root: Path, plan) -> None:
    log = root / "app.log"
    log.touch()
    for step in plan:
        if step[0] == "append":
            _, lines, unfinished = step
            data = b"".join(b + b"\n" for b in lines)
            with open(log, "ab") as f:
                f.write(data + (b"tail" if unfinished else b""))
        else:
            rotate(log, step[1], step[2])


def reference(history: History) -> list[tuple[str, str]]:
    """Every line of the history: each link's whole content (decompressed) cut by
    ``LineSplitter``; the file followed now up to its last LF, a rotated one to
    its end (its unfinished last line is a line)."""
    out = []
    for i, link in enumerate(history.chain):
        data = (history.root / link.rel).read_bytes()
        if link.compressed:
            data = {"gz": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress}[link.compressed](data)
        splitter = LineSplitter(0, MAX_LINE)
        lines = splitter.feed(data)
        if i != history.current:
            lines.extend(splitter.flush())
        out.extend((f"{link.ino:x}-{end}", text) for text, end in zip(lines.texts, lines.ends, strict=True))
    return out


def page_back(history: History, count: int, match=None, budget=None):
    place, got, pages = history.last(), [], 0
    while True:
        kw = {"budget": budget} if budget else {}
        page = history.before(place, count, match, **kw)
        got[:0] = page.lines
        pages += 1
        assert pages < 10_000
        if not page.more_before:
            return got
        assert page.begin < place or page.lines
        place = history.line_start(page.start)


def page_forward(history: History, count: int, match=None, budget=None):
    place, got = history.first(), []
    while True:
        kw = {"budget": budget} if budget else {}
        page = history.after(place, count, match, **kw)
        got.extend(page.lines)
        if not page.more_after:
            return got
        place = page.end


def keeps_x(text: str) -> bool:
    return "x" in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps, count=st.integers(1, 7), block=st.sampled_from([16, 64, 4096]),
       filtered=st.booleans(), budget=st.sampled_from([None, 50]))
def test_paging_back_then_forward_yields_every_line_of_every_rotation_once_in_order(plan, count, block, filtered,
                                                                                    budget):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, plan)
        with History(root, "app.log", MAX_LINE, block=block) as history:
            match = keeps_x if filtered else None
            want = [line for line in reference(history) if match is None or match(line[1])]
            assert page_back(history, count, match, budget) == want
            assert page_forward(history, count, match, budget) == want


@settings(max_examples=80, deadline=None)
@given(plan=steps, count=st.integers(1, 9), pick=st.integers(0, 10_000), filtered=st.booleans())
def test_around_an_id_is_the_reference_window_around_its_line(plan, count, pick, filtered):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, plan)
        with History(root, "app.log", MAX_LINE, block=32) as history:
            ref = reference(history)
            if not ref:
                return
            i = pick % len(ref)
            match = keeps_x if filtered else None
            page = history.around(history.locate(ref[i][0]), count, match)
            keep = [line for line in ref[:i] if match is None or match(line[1])]
            after = [line for line in ref[i + 1:] if match is None or match(line[1])]
            before_n = count // 2
            want = (keep[-before_n:] if before_n else []) + [ref[i]] + after[:count - before_n - 1]
            assert page.lines == want


stamped = st.lists(st.one_of(st.integers(0, 50), st.none()), max_size=40)


def write_stamped(root: Path, files: list[list[int | None]], compress: str | None) -> list[tuple[float | None]]:
    """``files`` oldest first as app.log.N ... app.log; each line stamped at
    04:00 + N seconds, or a continuation line without a stamp."""
    names = [f"app.log.{len(files) - 1 - i}" for i in range(len(files) - 1)] + ["app.log"]
    for n, (name, stamps) in enumerate(zip(names, files, strict=True)):
        data = "".join(f"2026-11-30T04:00:{s:02d}Z line {n}.{j}\n" if s is not None else f"  at cont {n}.{j}\n"
                       for j, s in enumerate(stamps)).encode()
        if compress and n == 0 and name != "app.log":
            (root / f"{name}.{compress}").write_bytes(COMPRESS[compress](data))
        else:
            (root / name).write_bytes(data)


def stamp_of(text: str) -> float | None:
    return line_time(text)


@settings(max_examples=300, deadline=None)
@given(files=st.lists(stamped, min_size=1, max_size=3), when=st.integers(-1, 52), ordered=st.booleans(),
       compress=st.sampled_from([None, "gz"]), strict=st.booleans(), linear=st.sampled_from([1, 40, 65536]))
def test_since_lands_on_a_crossing_and_in_an_ordered_log_on_the_first_line_at_or_after_the_time(
        files, when, ordered, compress, strict, linear):
    if ordered:
        flat = sorted(s for f in files for s in f if s is not None)
        it = iter(flat)
        files = [[next(it) if s is not None else None for s in f] for f in files]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_stamped(root, files, compress)
        with History(root, "app.log", 1000, block=64) as history:
            ref = reference(history)
            moment = line_time("2026-11-30T04:00:00Z") + when
            late = (lambda t: t > moment) if strict else (lambda t: t >= moment)
            if all(stamp_of(t) is None for _, t in ref):
                with pytest.raises(BadRequest, match="no timestamp"):
                    seek_time(history, moment, strict)
                return
            place = seek_time(history, moment, strict, linear)
            got = history.after(place, 1).lines
            stamps = [stamp_of(t) for _, t in ref]
            if not got:  # the end: every stamp (the last one at least) is early
                assert not late([s for s in stamps if s is not None][-1])
                return
            i = ref.index(got[0])
            assert stamps[i] is not None and late(stamps[i])
            earlier = [s for s in stamps[:i] if s is not None]
            assert not earlier or not late(earlier[-1])
            if ordered:
                assert i == next(k for k, s in enumerate(stamps) if s is not None and late(s))


def test_an_id_that_is_malformed_foreign_gone_past_the_end_or_not_a_boundary_is_refused(tmp_path):
    (tmp_path / "app.log").write_bytes(b"one\ntwo\n")
    (tmp_path / "other.log").write_bytes(b"x\n")
    other = os.stat(tmp_path / "other.log").st_ino
    ino = os.stat(tmp_path / "app.log").st_ino
    with History(tmp_path, "app.log", 100) as history:
        assert history.locate(f"{ino:x}-4") == Place(0, 4)
        with pytest.raises(BadRequest, match="malformed"):
            history.locate("nope")
        with pytest.raises(BadRequest, match="names other.log"):
            history.locate(f"{other:x}-2")
        with pytest.raises(NotFound, match="gone"):
            history.locate("fffffff-2")
        with pytest.raises(NotFound, match="past the end"):
            history.locate(f"{ino:x}-99")
        with pytest.raises(NotFound, match="line boundary"):
            history.locate(f"{ino:x}-2")


def test_a_fifo_a_path_outside_the_root_and_an_archive_are_refused_as_the_stream_refuses_them(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "pipe")
    (tmp_path / "secret.log").write_text("s\n")
    (root / "a.log.1.gz").write_bytes(gzip.compress(b"x\n"))
    with pytest.raises(PathRejected, match="not a regular file"):
        History(root, "pipe", 100)
    with pytest.raises(PathRejected, match="outside"):
        History(root, "../secret.log", 100)
    with pytest.raises(NotFound):
        History(root, "missing.log", 100)
    with pytest.raises(Unsupported):
        History(root, "a.log.1.gz", 100)


def test_a_concatenated_gzip_reads_as_one_and_a_truncated_one_is_skipped_and_named(tmp_path):
    (tmp_path / "app.log.2.gz").write_bytes(gzip.compress(b"a\nb") + gzip.compress(b"c\n") + b"\0" * 8)
    (tmp_path / "app.log.1.gz").write_bytes(gzip.compress(b"lost\n" * 1000)[:-30])
    (tmp_path / "app.log").write_bytes(b"d\n")
    with History(tmp_path, "app.log", 100) as history:
        page = history.after(history.first(), 10)
        assert [text for _, text in page.lines] == ["a", "bc", "d"]
        assert "app.log.1.gz" in page.skipped


def test_reading_back_a_line_longer_than_a_block_pauses_after_each_block(tmp_path):
    """A line without an LF in sight (a progress bar redrawn with CR for hours)
    is read back and cut through the one definition, and the server's pause
    (``gevent.sleep``) comes after every block of it, so live streams never
    wait for the whole line."""
    line = b"\0" * 5000 + b"\xef\xbb\xbfbar \xc3" + b"\r".join(b"%05d%%" % n for n in range(20_000)) + b"\r\n"
    (tmp_path / "app.log.1").write_bytes(b"before\n" + line + b"x\n")
    (tmp_path / "app.log").write_bytes(b"")
    pauses = []
    with History(tmp_path, "app.log", MAX_LINE, block=4096, pause=lambda: pauses.append(1)) as history:
        ref = reference(history)
        page = history.before(history.last(), 3)
        assert page.lines == ref
        assert len(ref) == 3 and ref[1][1].endswith(f"[…cut {len(line) - 5000 - 2 - MAX_LINE} bytes]")
    assert len(pauses) >= 2 * len(line) // 4096 - 4  # back to its start, then forward through it


def test_finding_a_time_through_unstamped_lines_pauses_as_it_reads(tmp_path):
    body = b"".join(b"  at frame %06d %s\n" % (n, b"." * 1000) for n in range(3000))  # 3 MB of a trace
    (tmp_path / "app.log").write_bytes(b"2026-11-30T04:00:00Z start\n" + body + b"2026-11-30T04:00:09Z end\n")
    pauses = []
    with History(tmp_path, "app.log", 4096, pause=lambda: pauses.append(1)) as history:
        place = seek_time(history, line_time("2026-11-30T04:00:05Z"))
        assert [t for _, t in history.after(place, 1).lines] == ["2026-11-30T04:00:09Z end"]
    assert len(pauses) >= 50  # at least once per 64 KiB read (3 MB of probes)


def test_opening_a_history_whose_file_ends_in_a_long_unfinished_line_pauses_as_it_reads_back(tmp_path):
    (tmp_path / "app.log").write_bytes(b"done\n" + b"\r".join(b"%05d%%" % n for n in range(20_000)))
    pauses = []
    with History(tmp_path, "app.log", MAX_LINE, block=4096, pause=lambda: pauses.append(1)) as history:
        assert history.last() == Place(0, 5)  # the unfinished line is not a line yet
        assert history.before(history.last(), 5).lines == [(f"{os.stat(tmp_path / 'app.log').st_ino:x}-5", "done")]
    assert len(pauses) >= 140_000 // 4096 - 2
