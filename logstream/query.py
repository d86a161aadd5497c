"""query: what a client asks of the lines, as pure predicates: the RE2 line
filter (``filter=``, ``invert=``) and field clauses (``where=level>=warn``) over a
line's parsed fields (``fields``), combined in one ``Query`` with a canonical key.

Owns compiling a client's pattern, in linear time, with one error message per
kind of bad input. Never runs a backtracking regex on client input (a hostile
pattern cannot hang the server); no I/O, no gevent, no Flask.
"""

from __future__ import annotations

import json
import re

import re2

from .errors import BadRequest
from .fields import SEVERITY, Fields, level_name, lookup
from .fields import parse as parse_fields
from .inner_literal import Prefilter

MAX_PATTERN = 1000  # characters

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_BLOCK_OPTIONS = re2.Options()
_BLOCK_OPTIONS.log_errors = False
_BLOCK_OPTIONS.never_nl = True  # a match never spans two lines
# What means something else over a block of lines than over one line's text:
# text start and end (\A, \z), any byte (\C), multi-line mode turned off.
_NOT_PER_BLOCK = re2.compile(r"\\[AzC]|\(\?[a-zA-Z]*-[a-zA-Z]*m", _RE2_OPTIONS)
_PUNCT = r"\\[!-/:-@\[-`{-~]"  # an escaped ASCII punctuation mark: itself
_ASCII_ONLY = re.compile(rf"(?:[ -\-/-Z\]-~]|\\[dswbB]|{_PUNCT}|\[(?!\^)(?:[ -Z^-~]|\\[dsw]|{_PUNCT})+\])*")


def _compile_block(pattern: str):
    return re2.compile("(?m)" + pattern, _BLOCK_OPTIONS)


class LineFilter:
    """A client's regex over a line's text, in linear time (RE2).

    ``key`` identifies the filter for the encode-once cache: two clients with the
    same pattern and inversion share encoded bytes. Raises ``BadRequest`` for a
    pattern over ``MAX_PATTERN`` characters or one RE2 cannot compile (RE2 syntax:
    https://github.com/google/re2/wiki/Syntax)."""

    def __init__(self, pattern: str, invert: bool = False) -> None:
        if len(pattern) > MAX_PATTERN:
            raise BadRequest(f"filter: pattern longer than {MAX_PATTERN} characters")
        try:
            self._regex = re2.compile(pattern, _RE2_OPTIONS)
        except re2.error as exc:
            reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise BadRequest(f"filter: invalid regular expression: {reason}") from None
        self.invert = invert
        self.pattern = pattern
        self.key = (pattern, invert)
        self._block = False  # block_regex(), compiled on first use
        self._prefilter = None  # block_prefilter(), compiled with it

    def block_regex(self):
        """The same pattern for a search over a block of many lines at once (a
        compiled ``re2`` regex over bytes), or None where that could miss a line
        this filter matches: an inverted filter, or a pattern using ``\\A``,
        ``\\z``, ``\\C`` or turning multi-line mode off. In the block, ``^`` and
        ``$`` match at every line (``(?m)``) and no match crosses a line end
        (RE2's ``never_nl``), so each line this filter matches holds a match of
        this one; a match may still be a line this filter refuses (a CR before
        the LF, a cut line, a byte that is not UTF-8): callers check each such
        line with ``match``. Compiles ``block_prefilter``'s tails too."""
        if self._block is False:
            self._block = None
            if not self.invert and not _NOT_PER_BLOCK.search(self.pattern):
                try:
                    self._block = _compile_block(self.pattern)
                except re2.error:
                    pass
                else:
                    self._prefilter = Prefilter.build(self.pattern, _compile_block)
        return self._block

    def block_prefilter(self) -> Prefilter | None:
        """The tails of ``block_regex`` a block search may start with
        (``inner_literal``), or None; compiled by ``block_regex``, so None too
        before it ran."""
        return self._prefilter

    @property
    def ascii_only(self) -> bool:
        """Whether every character the pattern can match is ASCII (literals,
        escaped punctuation, ``\\d \\s \\w \\b``, classes of those without ``^``;
        no ``.``, no negated class or escape): then a byte that is not UTF-8,
        U+FFFD in the text, is matched by neither the pattern over the text nor
        its block regex over the bytes, and a block needs no UTF-8 check."""
        return _ASCII_ONLY.fullmatch(self.pattern) is not None

    @property
    def uses_line_start(self) -> bool:
        """Whether the pattern may test where a line starts (``^``, also counted
        inside a negated class): a line's text starts after a hole's NULs, a block
        of lines keeps them."""
        return "^" in self.pattern

    @property
    def uses_line_end(self) -> bool:
        """Whether the pattern may test where a line ends (``$``): a line's text
        drops the CR of its CRLF, a block of lines keeps it."""
        return "$" in self.pattern

    def match(self, text: str) -> bool:
        """Whether a client with this filter wants the line ``text``."""
        return (self._regex.search(text) is None) == self.invert

    def select(self, texts: list[str]) -> list[int]:
        """Indexes of the lines in ``texts`` the client wants, in order."""
        search, invert = self._regex.search, self.invert
        return [i for i, text in enumerate(texts) if (search(text) is None) == invert]


# -- field clauses: where=FIELD OP VALUE ----------------------------------------------------------

OPS = ("!=", "!~", ">=", "<=", "=", "~", ">", "<")  # longest first: ">=" before ">"
MAX_CLAUSES = 20
MAX_CLAUSE = 1000  # characters
_FIELD = re.compile(r"[A-Za-z_@][A-Za-z0-9_.@\-]*")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ORDER = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (bool, dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))


class Clause:
    """One ``where=`` clause, ``FIELD OP VALUE``: FIELD a key or a dotted path
    into nested JSON (``http.status``); OP one of ``OPS``; VALUE the rest of the
    clause (or a double-quoted JSON string). Numbers compare as numbers when both
    sides are numbers, everything else as text (but ``<``, ``>`` with a number never
    hold for a value that is not one); ``~``/``!~`` match an RE2 pattern;
    ``level`` is the parsed level (``fields.SEVERITY``), compared by severity. A
    missing field, or a line without fields, makes every clause false, ``!=`` and
    ``!~`` included. Raises ``BadRequest`` naming the position and what was
    expected."""

    def __init__(self, text: str) -> None:
        self.text = text  # as the client wrote it (a search process builds it again: scan_child.spec)
        if len(text) > MAX_CLAUSE:
            raise BadRequest(f"where: clause longer than {MAX_CLAUSE} characters")
        pos = _skip(text, 0)
        m = _FIELD.match(text, pos)
        if m is None:
            raise _bad(text, pos, "a field name (a key, or a dotted path like http.status)")
        self.field = m.group()
        pos = _skip(text, m.end())
        op = next((o for o in OPS if text.startswith(o, pos)), None)
        if op is None:
            raise _bad(text, pos, "an operator: " + ", ".join(OPS[::-1]))
        self.op = op
        pos = _skip(text, pos + len(op))
        if text.startswith('"', pos):
            try:
                value, end = json.JSONDecoder().raw_decode(text, pos)
            except ValueError:
                raise _bad(text, pos, 'a closed "quoted value"') from None
            if text[end:].strip():
                raise _bad(text, end, "the end of the clause after the quoted value")
            self.value = value
        else:
            self.value = text[pos:].strip()
        self.key = (self.field, self.op, self.value)
        self._regex = None
        self._severity = None
        if op in ("~", "!~"):
            try:
                self._regex = re2.compile(self.value, _RE2_OPTIONS)
            except re2.error as exc:
                reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) \
                    else str(exc)
                raise _bad(text, pos, f"a valid regular expression ({reason})") from None
        elif self.field == "level" and op in _ORDER:
            name = level_name(self.value)
            if name is None:
                raise _bad(text, pos, "a level: " + ", ".join(SEVERITY))
            self._severity = SEVERITY[name]
        self._number = _number(self.value)

    def holds(self, parsed: Fields | None) -> bool:
        """Whether the clause holds for a line with these fields."""
        if parsed is None:
            return False
        op = self.op
        if self.field == "level":
            value = parsed.level
            if value is None:
                return False
            if self._severity is not None:
                return _ORDER[op](SEVERITY[value], self._severity)
            if op in ("=", "!="):
                return (value == (level_name(self.value) or self.value.lower())) == (op == "=")
        else:
            try:
                value = lookup(parsed.values, self.field)
            except KeyError:
                return False
        if self._regex is not None:
            return (self._regex.search(_text(value)) is not None) == (op == "~")
        number = _number(value) if self._number is not None else None
        if number is not None:
            left, right = number, self._number
        elif self._number is not None and op in _ORDER:
            return False  # ms>=1000 on "fast": no order between a number and a word
        else:
            left, right = _text(value), _text(self.value)
        if op == "=":
            return left == right
        if op == "!=":
            return left != right
        return _ORDER[op](left, right)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _bad(text: str, pos: int, expected: str) -> BadRequest:
    return BadRequest(f"where: {text[:80]!r}: at character {pos + 1}: expected {expected}")


class Query:
    """Everything a client asks of lines: its RE2 ``line_filter`` (``filter=``,
    ``invert=``) and its ``where=`` clauses, all of which must hold. ``key`` is
    canonical (clauses sorted), so clients asking the same share encoded bytes.
    ``build`` returns None when nothing is asked."""

    def __init__(self, line_filter: LineFilter | None, clauses: list[Clause]) -> None:
        self.line_filter = line_filter
        self.clauses = clauses
        self.key = (line_filter.key if line_filter else None, tuple(sorted(c.key for c in clauses)))

    @classmethod
    def build(cls, pattern: str, invert: bool, where: list[str]) -> Query | None:
        """From the query string's values; raises ``BadRequest``."""
        if len(where) > MAX_CLAUSES:
            raise BadRequest(f"where: at most {MAX_CLAUSES} clauses")
        clauses = [Clause(text) for text in where]
        line_filter = LineFilter(pattern, invert) if pattern else None
        if line_filter is None and not clauses:
            return None
        return cls(line_filter, clauses)

    def match(self, text: str) -> bool:
        if self.line_filter is not None and not self.line_filter.match(text):
            return False
        if self.clauses:
            parsed = parse_fields(text)
            return all(c.holds(parsed) for c in self.clauses)
        return True

    def select(self, texts: list[str]) -> list[int]:
        keep = self.line_filter.select(texts) if self.line_filter is not None else range(len(texts))
        if not self.clauses:
            return list(keep)
        clauses = self.clauses
        return [i for i in keep if all(c.holds(p) for c in clauses for p in (parse_fields(texts[i]),))]
