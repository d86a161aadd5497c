"""What a line is: one definition for the tailer, catch-up and backlog, whatever
the chunking (lines end at LF only); and what is not text in it (a byte-order mark
at offset 0, a hole of NULs where a line starts)."""

import os
import tempfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logstream.lines import CUT_MARKER, LineSplitter, backlog_start, last_line_end, read_lines, split_complete


def feed_all(chunks, max_line=64, offset=0):
    splitter = LineSplitter(offset, max_line)
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


# -- what is not text: a byte-order mark at offset 0 ------------------------------------------

BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    pieces, last = [], 0
    for cut in sorted(set(c for c in cuts if c <= len(data))):
        pieces.append(data[last:cut])
        last = cut
    pieces.append(data[last:])
    return pieces


# Bytes that matter to the definition of a line, and a few that do not.
content = st.lists(st.sampled_from([b"\n", b"\r", b"\0", BOM, b"\xef", b"\xbb", b"\xbf", b"\xff\xfe", b"a", b"ERROR "]),
                   max_size=60).map(b"".join)


@given(data=content, cuts=st.lists(st.integers(0, 400), max_size=10), bom=st.booleans())
def test_any_chunking_gives_the_same_lines_with_marks_holes_and_crs(data, cuts, bom):
    data = (BOM if bom else b"") + data
    whole = feed_all([data])
    pieces = feed_all(chunked(data, cuts))
    assert whole[:2] == pieces[:2]
    assert whole[1] == [i + 1 for i, b in enumerate(data) if b == 0x0A]
    if whole[0] and bom and not data.startswith(BOM * 2):
        assert not whole[0][0].startswith("\ufeff")


@given(data=content)
def test_split_complete_agrees_with_the_splitter(data):
    data = data[: data.rfind(b"\n") + 1]
    lines = split_complete(data, 0, 64)
    assert (lines.texts, lines.ends) == feed_all([data])[:2]


def test_bom_at_offset_0_is_not_text_and_ids_stay_byte_positions():
    lines = split_complete(BOM + b"ERROR x\nnext\n", 0, 100)
    assert lines.texts == ["ERROR x", "next"]
    assert lines.ends == [11, 16]


def test_bom_split_across_three_reads_is_still_removed():
    texts, ends, _ = feed_all([b"\xef", b"\xbb", b"\xbfERR", b"OR x\n"])
    assert (texts, ends) == (["ERROR x"], [11])


def test_bom_of_an_unfinished_first_line_is_removed_when_it_is_flushed():
    splitter = LineSplitter(0, 100)
    splitter.feed(BOM + b"no newline yet")
    assert splitter.flush().texts == ["no newline yet"]


def test_bom_elsewhere_is_text():
    # Only offset 0 starts a file: a BOM in the middle (files concatenated) is kept,
    # and so is one at the start of a chunk that does not start the file.
    assert split_complete(b"a\n" + BOM + b"b\n", 0, 100).texts == ["a", "\ufeffb"]
    assert split_complete(BOM + b"b\n", 2, 100).texts == ["\ufeffb"]
    assert feed_all([BOM + b"b\n"], offset=2)[0] == ["\ufeffb"]


def test_bom_on_a_cut_line_is_removed_and_the_cut_count_is_true():
    texts, ends, _ = feed_all([BOM + b"x" * 100 + b"\n"], max_line=10)
    assert texts == ["x" * 7 + " […cut 93 bytes]"]
    assert split_complete(BOM + b"x" * 100 + b"\n", 0, 10).texts == texts


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"],
                         ids=["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_files_are_not_decoded_but_never_break_lines(bom):
    # logstream reads UTF-8 (and so ASCII); a UTF-16/32 file is shown as undecoded
    # bytes: its BOM as U+FFFD, NULs between the letters. Ids are still the offsets
    # just past each LF byte, and every path gives the same lines.
    encoding = {"\xff\xfe": "utf-16-le", "\xfe\xff": "utf-16-be"}.get(bom.decode("latin-1"), None)
    encoding = encoding or ("utf-32-le" if bom.startswith(b"\xff") else "utf-32-be")
    data = bom + "ERROR x\nnext\n".encode(encoding)
    whole = feed_all([data])
    assert whole[1] == [i + 1 for i, b in enumerate(data) if b == 0x0A]
    assert feed_all([data[i:i + 1] for i in range(len(data))])[:2] == whole[:2]
    assert all("\ufeff" not in text for text in whole[0])


def test_backlog_and_catch_up_read_the_first_line_without_its_bom(fd):
    content = BOM + b"ERROR x\ninfo\n"
    f = fd(content)
    start = backlog_start(f, len(content), 5, 100, match=lambda t: t.startswith("ERROR"), block=4)
    assert start == 0
    lines = [line for chunk in read_lines(f, start, len(content), 100, block=4) for line in chunk.texts]
    assert lines == ["ERROR x", "info"]


# -- line ends: LF, and only LF ---------------------------------------------------------------

def test_a_lone_cr_does_not_end_a_line():
    # Old Mac line ends and a progress bar's redraws stay in their line, which ends
    # at its LF: ids are always offsets past an LF byte.
    assert split_complete(b"10%\r50%\r100%\n", 0, 100).texts == ["10%\r50%\r100%"]
    splitter = LineSplitter(0, 100)
    assert splitter.feed(b"old\rmac\r").texts == [] and splitter.pending == 8
    assert splitter.feed(b"file\n").ends == [13]


@pytest.mark.parametrize("max_line", [3, 8, 9, 10, 100])
def test_crlf_split_across_reads_is_one_line_end_even_on_a_cut_line(max_line):
    data = b"x" * 9 + b"\r\n"
    whole = split_complete(data, 0, max_line)
    assert whole.ends == [11]
    for cut in range(len(data)):  # and the LF alone last
        for pieces in ([data[:cut], data[cut:]], [data[:cut], data[cut:-1], data[-1:]]):
            assert feed_all(pieces, max_line=max_line)[:2] == (whole.texts, whole.ends)


# -- what is not text: a run of NULs where a line starts (a hole) -------------------------------

def test_a_hole_before_a_line_is_skipped_and_ids_stay_byte_positions():
    # A writer without O_APPEND goes on at its old offset after a copytruncate.
    data = b"\0" * 65_600 + b"marker\n"
    assert split_complete(data, 0, 65_536).texts == ["marker"]
    assert split_complete(data, 0, 65_536).ends == [65_607]
    assert feed_all([data[i:i + 4096] for i in range(0, len(data), 4096)], max_line=65_536)[:2] == (
        ["marker"], [65_607])


def test_holes_between_lines_are_skipped_and_nuls_inside_a_line_are_text():
    data = b"a\n" + b"\0" * 50 + b"b\nc\0\0d\n\0\0\n"
    assert split_complete(data, 0, 100).texts == ["a", "b", "c\0\0d", ""]
    assert feed_all([data[i:i + 3] for i in range(0, len(data), 3)], max_line=100)[0] == ["a", "b", "c\0\0d", ""]


def test_a_hole_does_not_count_towards_max_line():
    assert split_complete(b"\0" * 1000 + b"x" * 10 + b"\n", 0, 64).texts == ["x" * 10]
    texts, _, splitter = feed_all([b"\0" * 1000, b"x" * 10, b"\n"], max_line=64)
    assert texts == ["x" * 10]


def test_a_hole_with_nothing_after_it_is_not_a_line_and_can_be_read_again():
    splitter = LineSplitter(0, 100)
    assert splitter.feed(b"a\n" + b"\0" * 10).texts == ["a"]
    assert (splitter.hole, splitter.pending) == (10, 10)
    assert splitter.flush().texts == []  # not a line
    assert splitter.give_back_hole() == 10 and splitter.pending == 0
    # The zeros were overwritten in place (a preallocated file): read them again.
    assert splitter.feed(b"b\n" + b"\0" * 8).texts == ["b"]
    assert splitter.offset == 4
    splitter.feed(b"\0\0c")
    assert splitter.hole == 0 and splitter.flush().texts == ["c"]


def sparse_file(tmp_path, name, parts):
    """A file of ``parts``: bytes, or an int for a hole of that many bytes (never written)."""
    path = tmp_path / name
    with open(path, "wb") as f:
        for part in parts:
            if isinstance(part, int):
                f.seek(part, os.SEEK_CUR)
            else:
                f.write(part)
        f.truncate()
    return path


def counting_preads(monkeypatch):
    read = []
    real = os.pread

    def pread(fd, size, offset):
        data = real(fd, size, offset)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "pread", pread)
    return read


def test_catch_up_and_backlog_jump_a_sparse_hole_without_reading_it(tmp_path, monkeypatch):
    # Each copytruncate under a writer that kept its offset makes the hole longer:
    # a GiB of zeros must not be read (3 s of CPU here) to find the line after it.
    path = sparse_file(tmp_path, "app.log", [1 << 30, b"marker\n", b"next\n"])
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        read = counting_preads(monkeypatch)
        texts = [t for lines in read_lines(fd, 0, size, 100) for t in lines.texts]
        assert texts == ["marker", "next"] and sum(read) < 1 << 20
        read.clear()
        start = backlog_start(fd, size, 100, 100)
        assert [t for lines in read_lines(fd, start, size, 100) for t in lines.texts] == ["marker", "next"]
        assert sum(read) < 1 << 20
        read.clear()
        assert backlog_start(fd, size, 100, 100, match=lambda t: t == "marker") == 0
        assert sum(read) < 1 << 20
    finally:
        os.close(fd)


def test_holes_in_the_middle_and_at_the_end_are_jumped_backwards_too(tmp_path, monkeypatch):
    # A preallocated file (zeros at its end) and a hole longer than the backlog's
    # scan limit: neither is read, and the lines on both sides are found.
    ends = sparse_file(tmp_path, "end.log", [b"a\nb\n", 1 << 30])
    middle = sparse_file(tmp_path, "middle.log", [b"a\n", 100 << 20, b"b\n"])
    read = counting_preads(monkeypatch)
    fd = os.open(ends, os.O_RDONLY)
    try:
        assert last_line_end(fd, ends.stat().st_size) == 4
    finally:
        os.close(fd)
    fd = os.open(middle, os.O_RDONLY)
    size = middle.stat().st_size
    try:
        for match in (None, lambda t: True):
            start = backlog_start(fd, size, 2, 100, match=match)
            assert [t for lines in read_lines(fd, start, size, 100) for t in lines.texts] == ["a", "b"]
    finally:
        os.close(fd)
    assert sum(read) < 4 << 20


def reads_the_same(data: bytes, count: int, block: int, match) -> None:
    """Backlog and catch-up (read_lines) cut ``data`` as the live splitter does."""
    data = data[: data.rfind(b"\n") + 1]
    texts, ends, _ = feed_all([data], max_line=8)
    keep = [i for i, t in enumerate(texts) if match is None or match(t)]
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        fd = f.fileno()
        got = [(t, e) for lines in read_lines(fd, 0, len(data), 8, block=block)
               for t, e in zip(lines.texts, lines.ends, strict=True)]
        assert got == list(zip(texts, ends, strict=True))
        start = backlog_start(fd, len(data), count, 8, match=match, block=block)
        tail = [t for lines in read_lines(fd, start, len(data), 8, block=block) for t in lines.texts]
    want = [texts[i] for i in keep[-count:]] if count else []
    assert [t for t in tail if match is None or match(t)] == want
    if want:
        assert tail[0] == want[0]  # the backlog starts at its first line, not before


@given(data=content, count=st.integers(0, 12), block=st.integers(1, 20), filtered=st.booleans(),
       bom=st.booleans())
def test_backlog_and_catch_up_agree_with_live_whatever_the_content(data, count, block, filtered, bom):
    reads_the_same((BOM if bom else b"") + data, count, block, (lambda t: "E" in t) if filtered else None)
