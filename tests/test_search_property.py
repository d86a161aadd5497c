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

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstream import paths
from logstream.api.search import SearchParams, open_history
from logstream.history import History
from logstream.lines import last_line_end, read_lines
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
        params = SearchParams(query, limit, context, oldest_first, None, None)
        with History(root, "app.log", MAX_LINE) as history:
            regions = open_history(history, params)
            scan = Search(regions, query, max_line=MAX_LINE, limit=limit, context=context,
                          oldest_first=oldest_first, min_block=block, max_block=block)
            got = [hit.as_json() for step in scan.steps() for hit in step.hits]
            total = scan.total
        want, complete = reference(root, query, limit, context, oldest_first)
        assert got == want
        assert scan.complete == complete
        assert scan.scanned == total or not complete
