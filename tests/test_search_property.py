"""Search agrees with a brute-force reference: every line of the history (each
rotated sibling, compressed or not, oldest first, then the file), cut by the one
definition of a line, kept by the stream's own filter, newest or oldest first,
with its context in its file; whatever the block size, for random histories
with rotations, copytruncate holes, CRLF, byte-order marks, bytes that are not
UTF-8 and lines longer than ``max_line``."""

from __future__ import annotations

import bz2
import gzip
import lzma
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstream import paths, search_archive
from logstream.api.search import SearchParams, open_history
from logstream.block_search import block_hits
from logstream.history import History
from logstream.lines import BOM, last_line_end, read_lines, split_complete
from logstream.query import Query
from logstream.search import Search

MAX_LINE = 24
PIECES = [b"a", b"b", b"ab", b"ERROR", b"error", b" ", b"\r", b"\r\n", b"\n", b"\n", b"\n", b"\0", b"\xff",
          b"\xc3\xa9", b"x" * 30, b"cut", b"[", b"\xef\xbb\xbf"]
PATTERNS = ["a", "ERROR", "(?i)error", "^a", "b$", "a.b", "[^b]b", "^$", "x*", r"\x{FFFD}", "cut", "é",
            r"\s", "^ab$", "bytes]$", r"\Aa", r"a\z", r"\bab\b", "(?i-m)^a"]
COMPRESS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def content(draw) -> bytes:
    data = b"".join(draw(st.lists(st.sampled_from(PIECES), max_size=40)))
    if draw(st.booleans()):
        data = b"\0" * draw(st.integers(1, 9)) + data  # a writer that kept its offset after a copytruncate
    return data


def reference(root: Path, query: Query, limit: int, context: int, oldest_first: bool):
    """Every line of the history, brute force: hits as the search should send them."""
    chain = paths.rotation_chain(root, "app.log")
    files = []
    for n, link in enumerate(chain):
        raw = (root / link.rel).read_bytes()
        if link.compressed:
            raw = {"gz": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress}[link.compressed](raw)
        current = n == len(chain) - 1 and not link.compressed
        with tempfile.TemporaryFile() as f:
            f.write(raw)
            f.flush()
            end = last_line_end(f.fileno(), len(raw)) if current else len(raw)
            lines = [(t, e) for chunk in read_lines(f.fileno(), 0, end, MAX_LINE, final=not current)
                     for t, e in zip(chunk.texts, chunk.ends, strict=True)]
        files.append([{"id": f"{link.ino:x}-{e}", "text": t} for t, e in lines])
    hits = []
    for lines in files:
        for i, line in enumerate(lines):
            if query.match(line["text"]):
                hits.append({**line, "context_before": lines[max(0, i - context):i] if context else [],
                             "context_after": lines[i + 1:i + 1 + context] if context else []})
    if not oldest_first:
        hits.reverse()
    return hits[:limit], len(hits) < limit


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_search_agrees_with_brute_force(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        siblings = data.draw(st.lists(st.sampled_from(["", "gz", "bz2", "xz"]), max_size=3))
        for n, kind in enumerate(siblings, start=1):
            name = f"app.log.{len(siblings) - n + 1}" + (f".{kind}" if kind else "")
            body = content(data.draw)
            (root / name).write_bytes(COMPRESS[kind](body) if kind else body)
        (root / "app.log").write_bytes(content(data.draw))
        pattern = data.draw(st.sampled_from(PATTERNS))
        invert = data.draw(st.booleans())
        where = data.draw(st.sampled_from([[], ["level=error"]]))
        query = Query.build(pattern, invert, where)
        limit = data.draw(st.integers(1, 30))
        context = data.draw(st.integers(0, 3))
        oldest_first = data.draw(st.booleans())
        block = data.draw(st.sampled_from([1, 7, 64, 4096]))
        probe = data.draw(st.sampled_from([1, 5, 16384]))  # short: lines start before the bytes read with a block
        params = SearchParams(query, limit, context, oldest_first, None, None)
        with History(root, "app.log", MAX_LINE) as history:
            regions = open_history(history, params)
            scan = Search(regions, query, max_line=MAX_LINE, limit=limit, context=context,
                          oldest_first=oldest_first, min_block=block, max_block=block, probe=probe)
            got = [hit.as_json() for step in scan.steps() for hit in step.hits]
            total = scan.total
        want, complete = reference(root, query, limit, context, oldest_first)
        assert got == want
        assert scan.complete == complete
        assert scan.scanned == total or not complete


@pytest.mark.parametrize("data, pattern", [
    (b"xb\r\nb\n", "b$"),  # the CR of a CRLF is not text: b$ holds
    (BOM + b"ab\nab\n", "^a"),  # nor the byte-order mark: ^a holds on the first line
    (b"\0\0ab\nab\n", "^a"),  # nor a hole where a line starts
    (b"x\n\0\0ab\n", "ab"),  # a hit in a line after a hole: its text without the NULs
    (b"x\n\0ab\n", ".ab"),  # a match in the hole's NULs is not one in the text
    (b"x\n\0ab\n", r"\W?ab"),
    (b"\0ab\n", r"\bab"),  # the text's start is a word boundary, and so is a NUL before it
    (b"a" * 40 + b"\n", r"cut \d+ bytes\]$"),  # a line over max_line is its cut text and the marker
    (b"a\xffb\n", "a.b"),  # a byte that is not UTF-8 is U+FFFD, which . matches
    (b"a\xffb\n", r"\x{FFFD}"),
    (b"ab\r\n", r"b\r"),  # a CR only before LF is not text
    (b"\xffab\xe2\n", "ab"),  # an ASCII-only pattern: no UTF-8 check, the hit's text has U+FFFD all the same
    (b"\xe2b\n\xc3\n", r"\bb|^\s*$"),
    (b"ab\n", "^$"),  # the empty match after the last LF is no line of the block (it once looped forever)
    (b"ab\n\ncd\n", "^$"),
    (b"xxxxx\n" * 800 + b"ab\r\n", "b"),  # few hits in a big block: each line checked for its CR
    (b"xxxxx\n" * 800 + b"ab\r\n", r"b\r"),
])
def test_block_hits_find_exactly_the_lines_the_filter_keeps(data, pattern):
    query = Query.build(pattern, False, [])
    lines = split_complete(data, 0, MAX_LINE)
    want = [(text, end) for text, end in zip(lines.texts, lines.ends, strict=True) if query.match(text)]
    got = [(hit.text, hit.end) for hit in block_hits(query, data, len(data), 0, MAX_LINE)]
    assert got == want


def test_a_compressed_file_holds_bounded_hits_newest_first_then_the_search_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(search_archive, "MAX_HELD", 100_000)
    (tmp_path / "app.log.2.gz").write_bytes(gzip.compress(b"ERROR old\n" * 10))
    lines = [b"ERROR %06d " % i + b"x" * 1000 + b"\n" for i in range(2000)]
    (tmp_path / "app.log.1.gz").write_bytes(gzip.compress(b"".join(lines)))
    (tmp_path / "app.log").write_bytes(b"")
    query = Query.build("ERROR", False, [])
    with History(tmp_path, "app.log", 65536) as history:
        regions = open_history(history, SearchParams(query, 100_000, 0, False, None, None))
        scan = Search(regions, query, max_line=65536, limit=100_000)
        texts = [hit.text[:12] for step in scan.steps() for hit in step.hits]
    held = len(texts)
    assert 10 < held < 100  # what 100 KB holds of 1 KB lines
    assert texts == [f"ERROR {i:06d}" for i in range(1999, 1999 - held, -1)]  # the newest, newest first, no gap
    assert scan.complete is False and scan.found == held  # and not a line of the older file after the gap
