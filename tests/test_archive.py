"""A compressed sibling is read as the one definition of a line cuts its
decompressed content, whatever its size: one too large to cache is read back a
window at a time, in bounded memory, and gives the same lines; concatenated
streams read as one content wherever their boundaries fall in the reads. A
link (plain or compressed) says whether it holds a line without reading one
through."""

import bz2
import gzip
import itertools
import lzma
import os
import tracemalloc
from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstream.archive import Archive
from logstream.lines import FIRST_BLOCK, LineSplitter
from logstream.plain_link import PlainLink

COMPRESS = {"gz": lambda b: gzip.compress(b, mtime=0), "bz2": bz2.compress, "xz": lzma.compress}
MAX_LINE = 40
SERIAL = itertools.count()

line_bytes = st.one_of(st.binary(max_size=120).filter(lambda b: b"\n" not in b),
                       st.text(st.sampled_from("ab x\r\0é"), max_size=90).map(str.encode))


def reference(content: bytes) -> list[tuple[int, str]]:
    """Every line of an archive's content, as a rotated file's: its last line without LF is one."""
    splitter = LineSplitter(0, MAX_LINE)
    lines = splitter.feed(content)
    lines.extend(splitter.flush())
    return list(zip(lines.ends, lines.texts, strict=True))


def opened(path, kind: str, **kw) -> Archive:
    return Archive(os.open(path, os.O_RDONLY), kind, MAX_LINE, **kw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line_bytes, max_size=60), unfinished=st.booleans(), members=st.integers(1, 4),
       kind=st.sampled_from(sorted(COMPRESS)), window=st.integers(1, 300), block=st.integers(1, 200),
       pick=st.integers(0, 10_000))
def test_an_archive_too_large_to_cache_reads_back_to_the_same_lines_window_by_window(
        tmp_path, lines, unfinished, members, kind, window, block, pick):
    content = b"".join(b + b"\n" for b in lines) + (b"tail" if unfinished else b"")
    cuts = sorted({0, len(content), *(len(content) * k // members for k in range(members))})
    path = tmp_path / f"a{next(SERIAL)}.log.1.{kind}"  # a new file each time: the archive caches go by identity
    path.write_bytes(b"".join(COMPRESS[kind](content[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)))
    ref = reference(content)
    stops = [0, *(end for end, _ in ref)]
    stop = stops[pick % len(stops)]
    reader = opened(path, kind, block=block, cache_bytes=0, window=window)  # never held whole
    try:
        assert reader.content() is None or content == b""
        assert reader.end() == len(content)
        got, high = [], stop
        for start, chunk in reader.backward(stop):
            assert start in stops and chunk.ends[-1] == high  # whole lines, no gap, none twice
            got[:0] = zip(chunk.ends, chunk.texts, strict=True)
            high = start
        assert got == [line for line in ref if line[0] <= stop]
        probes = {*range(min(len(content), 50) + 1), *stops, *(s - 1 for s in stops if s), len(content)}
        assert {o for o in probes if reader.is_boundary(o)} == {0, *stops, len(content)}
    finally:
        reader.close()


def test_reading_back_through_a_large_archive_holds_a_window_not_the_archive(tmp_path):
    block = b"".join(b"2026-11-30T04:00:00Z line %07d\n" % n for n in range(40_000))  # 1.2 MB
    path = tmp_path / "big.log.1.gz"
    path.write_bytes(gzip.compress(block, mtime=0) * 16)  # 19 MB of text in 16 members
    reader = opened(path, "gz", cache_bytes=4 << 20, window=1 << 20)
    try:
        tracemalloc.start()
        last = next(reader.backward())
        first = deque(reader.backward(), maxlen=1)[0]  # the oldest chunk, the others let go as they come
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        reader.close()
    assert last[1].texts[-1] == "2026-11-30T04:00:00Z line 0039999"
    assert first[0] == 0 and first[1].texts[0] == "2026-11-30T04:00:00Z line 0000000"
    assert peak < 12 << 20, f"{peak / 2**20:.1f} MiB held to read back through 19 MiB"


def test_a_stream_that_ends_exactly_where_a_read_ends_is_followed_by_the_next_one(tmp_path):
    """bgzip and ``gzip >>`` write many gzip members; one may end exactly at the
    end of a read (the first read takes FIRST_BLOCK // 4 bytes)."""
    n = next(n for n in range(FIRST_BLOCK // 4) if len(gzip.compress(b"a" * n + b"\n", 0, mtime=0)) == FIRST_BLOCK // 4)
    path = tmp_path / "app.log.1.gz"
    path.write_bytes(gzip.compress(b"a" * n + b"\n", 0, mtime=0) + gzip.compress(b"after the boundary\n", mtime=0))
    reader = opened(path, "gz")
    try:
        assert [t for lines in reader.forward() for t in lines.texts][1:] == ["after the boundary"]
        assert reader.end() == n + 1 + len(b"after the boundary\n")
    finally:
        reader.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=300), st.binary(max_size=30).map(lambda b: b"\0" * 5000 + b)),
       kind=st.sampled_from(sorted(COMPRESS)), block=st.integers(1, 64))
def test_a_link_holds_a_line_exactly_when_the_definition_cuts_one_from_it(tmp_path, content, kind, block):
    plain = tmp_path / f"p{next(SERIAL)}.log.1"
    plain.write_bytes(content)
    packed = tmp_path / f"p{next(SERIAL)}.log.2.{kind}"
    packed.write_bytes(COMPRESS[kind](content))
    want = bool(reference(content))
    link = PlainLink(os.open(plain, os.O_RDONLY), len(content), MAX_LINE, block)
    reader = opened(packed, kind)
    try:
        assert link.has_lines() == want
        assert reader.has_lines() == want
    finally:
        link.close()
        reader.close()
