"""query: what a client asks of the lines, as pure predicates. Today the RE2
line filter (``filter=``, ``invert=``); field clauses (``where=``) belong here too.

Owns compiling a client's pattern, in linear time, with one error message per
kind of bad input. Never runs a backtracking regex on client input (a hostile
pattern cannot hang the server); no I/O, no gevent, no Flask.
"""

from __future__ import annotations

import re2

from .errors import BadRequest

MAX_PATTERN = 1000  # characters

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


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
        self.key = (pattern, invert)

    def match(self, text: str) -> bool:
        """Whether a client with this filter wants the line ``text``."""
        return (self._regex.search(text) is None) == self.invert

    def select(self, texts: list[str]) -> list[int]:
        """Indexes of the lines in ``texts`` the client wants, in order."""
        search, invert = self._regex.search, self.invert
        return [i for i, text in enumerate(texts) if (search(text) is None) == invert]
