"""What a line is: one definition for the tailer, catch-up and backlog."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logstream.lines import CUT_MARKER, LineSplitter, backlog_start, last_line_end, read_lines, split_complete


def feed_all(chunks, max_line=64):
    splitter = LineSplitter(0, max_line)
    texts, ends = [], []
    for chunk in chunks:
        out = splitter.feed(chunk)
        texts += out.texts
        ends += out.ends
    return texts, ends, splitter


@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=10))
def test_any_chunking_gives_the_same_lines(data, cuts):
    pieces, last = [], 0
    for cut in sorted(set(c for c in cuts if c <= len(data))):
        pieces.append(data[last:cut])
        last = cut
    pieces.append(data[last:])
    whole = feed_all([data])
    chunked = feed_all(pieces)
    assert whole[:2] == chunked[:2]
    # Offsets are true byte positions just past each newline.
    assert whole[1] == [i + 1 for i, b in enumerate(data) if b == 0x0A]
    assert chunked[2].offset == (data.rfind(b"\n") + 1)


def test_partial_line_is_held_until_its_newline():
    splitter = LineSplitter(0, 100)
    assert splitter.feed(b"hel").texts == []
    assert splitter.pending == 3
    out = splitter.feed(b"lo\nwor")
    assert out.texts == ["hello"] and out.ends == [6]
    assert splitter.flush().texts == ["wor"]


def test_crlf_loses_its_cr_and_bad_utf8_becomes_replacement():
    out = split_complete(b"a\r\nb\xff\xfec\n", 0, 100)
    assert out.texts == ["a", "b\ufffd\ufffdc"]
    assert out.ends == [3, 8]


def test_long_line_is_cut_with_marker_and_true_offset():
    texts, ends, _ = feed_all([b"x" * 50, b"y" * 50, b"\nok\n"], max_line=64)
    assert texts[0] == "x" * 50 + "y" * 14 + CUT_MARKER.format(36)
    assert ends == [101, 104]
    assert texts[1] == "ok"


def test_splitter_never_holds_more_than_max_line():
    splitter = LineSplitter(0, 1000)
    for _ in range(100):
        splitter.feed(b"z" * 10_000)
    assert len(splitter._partial) == 1000 and splitter.pending == 1_000_000


@pytest.fixture
def fd(tmp_path):
    def make(content: bytes):
        path = tmp_path / "f.log"
        path.write_bytes(content)
        handle = os.open(path, os.O_RDONLY)
        opened.append(handle)
        return handle

    opened = []
    yield make
    for handle in opened:
        os.close(handle)


@pytest.mark.parametrize("count", [0, 1, 2, 5, 99, 100, 1000])
def test_backlog_start_finds_the_last_n_lines(fd, count):
    content = b"".join(b"line %d\n" % i for i in range(100))
    f = fd(content)
    start = backlog_start(f, len(content), count, 100, block=16)
    expected = content.split(b"\n")[:-1][-count:] if count else []
    got = b"".join(line.encode() + b"\n" for lines in read_lines(f, start, len(content), 100) for line in lines.texts)
    assert got == b"".join(e + b"\n" for e in expected)


def test_backlog_start_with_a_filter_counts_matches_only(fd):
    content = b"".join(b"%s %d\n" % (b"ERROR" if i % 10 == 0 else b"info", i) for i in range(100))
    f = fd(content)
    start = backlog_start(f, len(content), 3, 100, match=lambda t: "ERROR" in t, block=32)
    texts = [t for lines in read_lines(f, start, len(content), 100) for t in lines.texts]
    assert [t for t in texts if "ERROR" in t] == ["ERROR 70", "ERROR 80", "ERROR 90"]
    assert texts[0] == "ERROR 70"


def test_backlog_with_no_match_gives_nothing(fd):
    content = b"a\nb\n"
    assert backlog_start(fd(content), 4, 10, 100, match=lambda t: False) == 4


def test_last_line_end_ignores_the_unfinished_line(fd):
    assert last_line_end(fd(b"a\nbb\nccc"), 8) == 5
    assert last_line_end(fd(b"no newline"), 10) == 0
