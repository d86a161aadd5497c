"""The inner-literal prefilter never changes a search's hits: the cut finder cuts
a pattern only where each tail is implied by the whole (and nowhere it cannot
read with certainty), a block scanned from any tail keeps exactly the lines the
stream's filter keeps, ``^ $ \\b`` see a candidate line's true neighbours, the
choice follows the block's bytes, and a tail whose candidates are mostly refused
is dropped."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from logstream.block_search import block_hits
from logstream.errors import BadRequest
from logstream.inner_literal import MAX_CANDIDATES, MAX_RUN, Prefilter, cuts
from logstream.lines import split_complete
from logstream.query import Query
from tests.conftest import append

MAX_LINE = 64


@pytest.mark.parametrize("pattern, want", [
    ("status=5[0-9][0-9] ", [(0, "status=5"), (1, "tatus=5"), (2, "atus=5"), (3, "tus=5"), (4, "us=5"),
                             (5, "s=5"), (6, "=5"), (7, "5"), (18, " ")]),
    (r"\bstatus=5\d\d", [(2, "status=5"), (3, "tatus=5"), (4, "atus=5"), (5, "tus=5"), (6, "us=5"),
                         (7, "s=5"), (8, "=5"), (9, "5")]),
    ("^ab$", [(1, "ab"), (2, "b")]),
    ("(a|b)c", [(5, "c")]),  # alternation inside a group: the group is one element
    ("(?:a|b)+c", [(8, "c")]),
    ("(?P<x>a)b", [(8, "b")]),
    ("(?i:a)b", [(6, "b")]),  # the flag ends with its group
    ("ab*c", [(0, "a"), (3, "c")]),  # b* may be absent: no cut there, and it ends a's run
    ("ab?c", [(0, "a"), (3, "c")]),
    ("ab+c", [(0, "ab"), (1, "b"), (3, "c")]),  # b+ holds a b, then any number: the run stops
    ("ab+?c", [(0, "a"), (4, "c")]),  # lazy: read as optional (conservative)
    ("a{2,3}b", [(6, "b")]),
    ("a{2}b", [(4, "b")]),
    ('{"a":', [(0, '{"a":'), (1, '"a":'), (2, 'a":'), (3, '":'), (4, ":")]),  # no repeat: { is itself
    ("x{,3}", [(0, "x{,3}"), (1, "{,3}"), (2, ",3}"), (3, "3}"), (4, "}")]),
    (r"\.x", [(0, ".x"), (2, "x")]),
    (r"a\x41b", [(0, "a"), (5, "b")]),
    (r"a\x{41}b", [(0, "a"), (7, "b")]),
    ("[]a]x", [(4, "x")]),  # a ] first in a class is itself
    ("[^]]x", [(4, "x")]),
    (r"[\]]x", [(4, "x")]),
    (r"\pLx", [(3, "x")]),
    (r"\p{Greek}x", [(9, "x")]),
    (r"[\p{Greek}a]x", [(12, "x")]),
    ("[[:alpha:]]x", [(11, "x")]),
    (r"\d\s\w\bx", [(8, "x")]),
    ("a.b", [(0, "a"), (2, "b")]),
    ("é!", [(0, "é!"), (1, "!")]),
    ("(?i)error", []),  # a tail would lose the flag
    ("a(?i)b", []),
    ("a(?s)b", []),
    ("error|warn", []),  # a top-level alternation
    (r"a\Qb\E", []),
    (r"a\Cb", []),
    (r"a\1", []),
    ("x[", []),
    ("x(", []),
    ("x)", []),
    ("[[:]x", []),  # not read with certainty: no cut
    ("", []),
    ("^$", []),
])
def test_cuts_are_the_required_top_level_literals(pattern, want):
    assert [(cut.at, cut.run.decode()) for cut in cuts(pattern)] == want


def test_a_long_pattern_gets_one_tail_per_first_byte_and_a_bounded_number_of_them():
    pattern = "".join(chr(c) for c in range(ord("a"), ord("z") + 1)) * 38  # 988 characters
    query = Query.build(pattern, False, [])
    query.line_filter.block_regex()
    candidates = query.line_filter.block_prefilter().candidates
    firsts = [run[:1] for run, _, _ in candidates]
    assert firsts == [bytes([c]) for c in range(ord("a"), ord("a") + MAX_CANDIDATES)]  # the earliest cut of each
    assert all(len(run) == MAX_RUN for run, _, _ in candidates)


class Pinned(Prefilter):
    """Scans every block from one tail, whatever the bytes: to check each tail,
    not only the one a small block would be given."""

    def __init__(self, base: Prefilter, regex) -> None:
        super().__init__(base.candidates)
        self.regex = regex

    def choose(self, data: bytes, lo: int, n: int):
        return None if self.off else self.regex


def tails(query: Query) -> list:
    """Each tail regex of the query's prefilter (none without one)."""
    query.line_filter.block_regex()
    prefilter = query.line_filter.block_prefilter()
    return [] if prefilter is None else [rx for _, rx, whole in prefilter.candidates if not whole]


def hits_with(query: Query, data: bytes, prefilter) -> list[tuple[str, int, int]]:
    """``block_hits`` of the whole block, scanned with ``prefilter`` (None: none)."""
    query.line_filter.block_regex()
    query.line_filter._prefilter = prefilter
    return [(hit.text, hit.start, hit.end) for hit in block_hits(query, data, len(data), 0, MAX_LINE)]


def brute_force(query: Query, data: bytes) -> list[tuple[str, int, int]]:
    lines = split_complete(data, 0, MAX_LINE)
    starts = [0, *lines.ends[:-1]]
    return [(text, start, end) for text, start, end in zip(lines.texts, starts, lines.ends, strict=True)
            if query.match(text)]


@pytest.mark.parametrize("pattern", [r"^status=5\d\d", r"\bstatus=5", r"status=5\d\d$", r"=5\d\d\b"])
def test_a_candidate_line_is_checked_with_its_true_neighbours(pattern):
    # Every line holds a match of each tail; each pattern refuses some, by ^ $ or \b.
    data = b"status=500\nxstatus=501\nstatus=502 \nstatus=5022\n"
    query = Query.build(pattern, False, [])
    assert tails(query)
    want = brute_force(query, data)
    assert 0 < len(want) < 4
    for tail in tails(query):
        assert hits_with(query, data, Pinned(query.line_filter.block_prefilter(), tail)) == want


def test_the_tail_of_the_rarest_byte_is_chosen_from_the_block_itself():
    query = Query.build("status=5[0-9][0-9] ", False, [])
    query.line_filter.block_regex()
    prefilter = query.line_filter.block_prefilter()
    runs = {id(rx): run for run, rx, _ in prefilter.candidates}
    logs = b"".join(b"GET /api/users/%d status=%d took %d ms\n" % (i, 200 + i % 5, i) for i in range(200))
    assert runs[id(prefilter.choose(logs, 0, len(logs)))] == b"=5"  # = once a line; 5 rarer, but no 5 follows it
    flat = b"".join(b"x%d=%d\n" % (i, i) for i in range(500))  # = twice a line, s never
    assert prefilter.choose(flat, 0, len(flat)) is None  # the whole pattern: its s is rarest


def test_a_pattern_without_a_literal_start_keeps_its_own_scan_unless_a_tail_stops_rarely():
    query = Query.build("[0-9]+ ms=", False, [])
    query.line_filter.block_regex()
    prefilter = query.line_filter.block_prefilter()
    runs = {id(rx): run for run, rx, _ in prefilter.candidates}
    spaced = b"a b c d e f took 12 ms=1\n" * 150  # a space every 2 bytes, = in every line
    assert prefilter.choose(spaced, 0, len(spaced)) is None
    rare = b"abcdefghij took 12 ms\n" * 150 + b"took 13 ms=1\n"  # one = in 3,300 bytes
    assert runs[id(prefilter.choose(rare, 0, len(rare)))] == b"="


def test_a_tail_whose_candidates_are_mostly_refused_is_dropped_for_the_rest_of_the_search():
    query = Query.build(r"^x\d+ ok", False, [])
    data = b"".join(b"a%d ok\n" % i for i in range(300)) + b"x1 ok\n"  # the tail " ok" in every line
    tails(query)
    tail = next(rx for run, rx, _ in query.line_filter.block_prefilter().candidates if run == b" ok")
    prefilter = Pinned(query.line_filter.block_prefilter(), tail)
    assert hits_with(query, data, prefilter) == brute_force(query, data) == [("x1 ok", len(data) - 6, len(data))]
    assert prefilter.off  # 65 refused before any hit: the rest of the block went without the tail
    kept = Pinned(query.line_filter.block_prefilter(), tail)
    few = b"a1 ok\n" * 60 + b"x1 ok\n"
    hits_with(query, few, kept)
    assert not kept.off  # 60 refused: at most 2 per hit + 64


LITERALS = ["a", "b", "=", "5", " ", r"\.", r"\=", "é"]
ATOMS = LITERALS * 3 + ["[ab]", "[^a]", r"\d", r"\w", ".", "(a|b)", "(?:ab|5)", "(?i:a)", "[]a]", r"\pL",
                        "^", "$", r"\b", r"\B"]
QUANTIFIERS = ["", "", "", "?", "*", "+", "{1,2}", "{0,1}", "+?"]
TEXT = ["a", "b", "A", "=", "5", " ", ".", "ab", "=5", "é", "\r", "\xff"]


@st.composite
def patterns(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        atom = draw(st.sampled_from(ATOMS))
        parts.append(atom + ("" if atom in ("^", "$", r"\b", r"\B") else draw(st.sampled_from(QUANTIFIERS))))
    pattern = "".join(parts)
    prefix = draw(st.sampled_from(["", "", "", "(?i)"]))
    suffix = draw(st.sampled_from(["", "", "", "|b5"]))
    return prefix + pattern + suffix


@st.composite
def blocks(draw) -> bytes:
    lines = draw(st.lists(st.lists(st.sampled_from(TEXT), max_size=8).map("".join), min_size=1, max_size=12))
    return "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=patterns(), data=blocks())
def test_every_tail_finds_exactly_the_lines_the_filter_keeps(pattern, data):
    try:
        query = Query.build(pattern, False, [])
    except BadRequest:
        assume(False)
    want = brute_force(query, data)
    assert hits_with(query, data, None) == want  # no prefilter: the pass as it was
    query = Query.build(pattern, False, [])
    found = tails(query)
    assert hits_with(query, data, query.line_filter.block_prefilter()) == want  # the block's own choice
    for tail in found:
        assert hits_with(query, data, Pinned(query.line_filter.block_prefilter(), tail)) == want


def test_a_search_over_http_starts_from_a_tail_and_sends_the_same_hits(server, logdir):
    lines = [f"2026-11-30T04:00:{i % 60:02d}Z [web-{i % 4}] session order status={200 + i % 5} took {i} ms"
             for i in range(3000)]
    lines[1000] = lines[1000].replace("status=200", "status=503")
    lines[2000] = lines[2000].replace("status=200", "xstatus=504")  # the tail's match, not \bstatus's
    append(logdir / "app.log", *lines)
    client = server.stream("/api/search/app.log?q=%5Cbstatus%3D5%5B0-9%5D%5B0-9%5D%20&order=oldest")
    client.read_until(lambda c: c.of_type("done"), message="done")
    texts = [json.loads(e.data)["text"] for e in client.of_type("hit")]
    client.close()
    assert texts == [lines[1000]]
