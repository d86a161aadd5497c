"""inner_literal: a prefilter for the block search that starts RE2 on the rarest
required literal of a pattern rather than on its first character.

RE2 skips ahead to a match with ``memchr`` on the first byte of the pattern's
literal prefix: over log text ``status=5[0-9][0-9] `` stops at every ``s``, while
its tail ``=5[0-9][0-9] `` stops only at ``=``, and runs 2.4 times as fast (RE2
alone from match to match over 4 MiB blocks of bench/search.py's lines: 1.78
against 4.24 GB/s). GNU grep and ripgrep look for a rare
inner literal instead; this module does the same for ``block_search``: ripgrep's
"inner literals" (grep-regex ``literal.rs``: a required literal inside the
pattern, searched first, each candidate line then checked with the whole regex)
chosen by the memchr crate's "rare byte" idea (``memmem``'s prefilter ranks the
needle's bytes by frequency), here measured on a sample of each block rather
than taken from a fixed table.

Owns the cut finder, a small, conservative reader of RE2 syntax
(https://github.com/google/re2/wiki/Syntax) that answers only where it is sure,
and the choice of a tail per block. Must never change a search's hits: a tail is
only ever a filter whose every candidate line is checked with the whole pattern.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import re2

SAMPLE = 4096  # bytes of a block counted per candidate byte: ~2 us each; 37 lines of 110 bytes
RUN_WEIGHT = 256  # a candidate line costs as much as ~256 memchr stops (2.5 us against 10 ns, measured)
MAX_RUN = 16  # characters of a run counted: enough to be rare, and cuts() stays linear
MAX_CANDIDATES = 16  # distinct first bytes: compiling the tails of a 1,000-character literal took 265 ms
DFA_STOPS = 64  # bytes: break-even is a stop per ~10 (10 ns against 1 ns a byte); 64 keeps a margin
_PUNCT = frozenset(r"""!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~""")
_GROUP = re.compile(r"\(\?(?::|P?<[A-Za-z0-9_]+>|[imsU]*(?:-[imsU]*)?:)")  # groups, not flags alone
_REPEAT = re.compile(r"\{(\d+)(?:,\d*)?\}")  # anything else after { is a literal {, as in RE2's parser


@dataclass(frozen=True)
class Cut:
    """A place where a pattern can be cut: ``pattern[at:]`` (the tail) matches in
    every line the whole pattern matches in, and every match of it starts with
    ``run`` (UTF-8, at least one byte): the required literal characters that
    begin the tail, up to its first element that is not one (at most
    ``MAX_RUN``)."""

    at: int
    run: bytes


def cuts(pattern: str) -> list[Cut]:
    """Every cut of ``pattern`` (RE2 syntax, case-sensitive), in order; ``at`` 0
    when the pattern itself starts with a required literal.

    The rule: at the top level (not in a group, a class or an escape) a pattern
    is a concatenation of elements, and a match of it holds a match of any tail
    of them, at the same place, with the same neighbours for ``^ $ \\b``. A cut
    is the start of an element that is a literal character (plain, or escaped
    punctuation) not made optional by ``* ?`` or ``{`` (``+`` keeps it, and ends
    its run). No cut at all (an empty list) where that reasoning may not hold or
    the text is not certain: a ``|`` at the top level, a flags group ``(?i)`` (a
    tail would lose its flags), ``\\Q``, an escape or a group form not known
    here, an unbalanced group or class."""
    elements = _elements(pattern)
    found = []
    for k, (at, literal, repeat) in enumerate(elements):
        if literal is None or repeat == "?":
            continue
        run = []
        for _, lit, rep in elements[k:k + MAX_RUN]:
            if lit is None or rep == "?":
                break
            run.append(lit)
            if rep == "+":
                break
        found.append(Cut(at, "".join(run).encode()))
    return found


def _elements(pattern: str) -> list[tuple[int, str | None, str]]:
    """The top-level elements of ``pattern`` as ``(start, literal, repeat)``:
    ``literal`` the character an element matches, None for any other element (a
    group, a class, ``.``, an assertion); ``repeat`` "" (once), "+" (at least
    once) or "?" (maybe never: ``* ?``, a ``{m,n}``). An empty list where
    ``cuts`` finds none."""
    if "\\Q" in pattern:
        return []
    elements: list[tuple[int, str | None, str]] = []
    i, end = 0, len(pattern)
    while i < end:
        start, c, literal = i, pattern[i], None
        if c == "|" or c == ")":
            return []
        if c in "*?+" or (c == "{" and _REPEAT.match(pattern, i)):
            if not elements:
                return []
            at, literal, repeat = elements[-1]
            elements[-1] = (at, literal, "+" if c == "+" and repeat != "?" else "?")
            i = _REPEAT.match(pattern, i).end() if c == "{" else i + 1
            continue
        if c == "(":
            if pattern.startswith("(?", i) and not _GROUP.match(pattern, i):
                return []
            i = _group_end(pattern, i)
        elif c == "[":
            i = _class_end(pattern, i)
        elif c == "\\":
            literal, i = _escape(pattern, i)
        elif c in ".^$":
            i += 1
        else:
            literal, i = c, i + 1
        if i < 0:
            return []
        elements.append((start, literal, ""))
    return elements


def _escape(pattern: str, i: int) -> tuple[str | None, int]:
    """(The literal character, or None for a class or an assertion; the index
    after the escape at ``pattern[i]``), the index -1 for one not read here."""
    e = pattern[i + 1:i + 2]
    if e and e in _PUNCT:
        return e, i + 2
    if e and e in "dDsSwWbBafnrtv":
        return None, i + 2
    if e and e in "pPx":
        if pattern.startswith("{", i + 2):
            close = pattern.find("}", i + 3)
            return None, (close + 1 if close > 0 else -1)
        width = 4 if e == "x" else 3
        return None, (i + width if i + width <= len(pattern) else -1)
    return None, -1  # \Q \E \C \A \z, octal, anything else: not certain


def _class_end(pattern: str, i: int) -> int:
    """The index after the class that opens at ``pattern[i]`` (``[``), -1 if
    unclosed or not certain. A ``]`` first (after ``^``) is itself, ``[:name:]``
    a named class."""
    j = i + 1
    if pattern.startswith("^", j):
        j += 1
    if pattern.startswith("]", j):
        j += 1
    while j < len(pattern):
        c = pattern[j]
        if c == "]":
            return j + 1
        if c == "\\":
            _, j = _escape(pattern, j)
            if j < 0:
                return -1
        elif pattern.startswith("[:", j):
            close = pattern.find(":]", j + 2)
            if close < 0:
                return -1
            j = close + 2
        else:
            j += 1
    return -1


def _group_end(pattern: str, i: int) -> int:
    """The index after the group that opens at ``pattern[i]`` (``(``), -1 if
    unbalanced or not certain."""
    depth, j = 0, i
    while j < len(pattern):
        c = pattern[j]
        if c == "\\":
            _, j = _escape(pattern, j)
            if j < 0:
                return -1
            continue
        if c == "[":
            j = _class_end(pattern, j)
            if j < 0:
                return -1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return -1


class Prefilter:
    """The regexes a block search may start with, each a compiled block regex
    (``LineFilter.block_regex``'s options, ``(?m)`` + a tail): ``candidates`` as
    ``(run, regex, whole)`` (``Cut.run``; ``whole`` true for the pattern itself,
    a candidate when it starts with a literal). Built by ``build`` (None where
    the pattern has no cut) in the thread that compiles the block regex.

    ``choose`` picks a block's regex; ``refuses`` keeps the guard: once a tail's
    candidates in a block are mostly refused by the whole pattern (more than 2
    per hit + 64 so far), the rest of that block and of the search go without
    it. Two threads scanning blocks of one search may race on that flag: one of
    them then scans some more of a block with a tail, which costs time, never a
    hit."""

    def __init__(self, candidates: list[tuple[bytes, object, bool]]) -> None:
        self.candidates = candidates
        self.bytes = sorted({run[:1] for run, _, _ in candidates})
        self.literal_start = any(whole for _, _, whole in candidates)
        runs = [run for run, _, _ in candidates]  # a run that goes on its predecessor's is rarer than it
        self.heads = [run for k, run in enumerate(runs) if k == 0 or runs[k - 1][1:] != run]
        self.off = False

    @classmethod
    def build(cls, pattern: str, compile_block) -> Prefilter | None:
        """From the client's pattern and the function compiling a block regex
        from a pattern (raising ``re2.error`` on a bad one); None where no tail
        can help. One candidate per first byte, the earliest cut, for the first
        ``MAX_CANDIDATES`` distinct bytes (compiled on the hub: ~4 ms for a
        pattern of 1,000 characters)."""
        candidates, seen = [], set()
        for cut in cuts(pattern):
            if cut.run[0] in seen:
                continue  # the earlier cut: the same stops, a longer tail and run
            if len(seen) == MAX_CANDIDATES:
                break
            seen.add(cut.run[0])
            try:
                candidates.append((cut.run, compile_block(pattern[cut.at:]), cut.at == 0))
            except re2.error:  # a tail RE2 refuses (none known): it is not a candidate
                continue
        if not any(not whole for _, _, whole in candidates):
            return None
        return cls(candidates)

    def choose(self, data: bytes, lo: int, n: int):
        """The regex to run over ``data[lo:n]`` (bytes, or any buffer that slices
        to bytes), None for the whole pattern. Each
        candidate's cost in the first ``SAMPLE`` bytes: RE2 stops at each of its
        first byte (memchr, ~10 ns a stop) and the search loop runs once for each
        of its run (~2.5 us a line: ``RUN_WEIGHT``); the cheapest wins (on a
        tie: the fewer stops, then the earliest cut, the longest tail). A pattern
        that starts with no literal runs RE2's DFA over every byte (~1 ns a
        byte: a stop per ``DFA_STOPS`` bytes is cheaper) and the loop once per
        match (at most the rarest run). The whole pattern after the guard."""
        if self.off:
            return None
        sample = bytes(data[lo:min(n, lo + SAMPLE)])  # any buffer (an mmap has no count)
        count = sample.count
        stops = {byte: count(byte) for byte in self.bytes}
        best, choice = None, None
        if not self.literal_start:
            best = len(sample) // DFA_STOPS + RUN_WEIGHT * min(count(run) for run in self.heads)
        for run, regex, whole in sorted(self.candidates, key=lambda c: stops[c[0][:1]]):  # sort is stable
            first = stops[run[:1]]
            if best is not None and first >= best:
                break  # this cost and every one after is at least best
            cost = first + RUN_WEIGHT * (count(run) if len(run) > 1 else first)
            if best is None or cost < best:
                best, choice = cost, (None if whole else regex)
        return choice

    def refuses(self, hits: int, refused: int) -> bool:
        """Whether a block scanned with a tail, so far ``hits`` lines the whole
        pattern matched and ``refused`` candidate lines it did not, should go on
        without it: then the tail is off for good (the guard)."""
        if refused > 2 * hits + 64:
            self.off = True
        return self.off
