"""grouping: a head line and its continuation lines (a Java stack trace, a Python
traceback, the wrapped lines of a timestamped log) into one event (``group=1``).

Owns what a continuation line is and the ``Grouper``, fed runs of lines with their
end offsets and flushed, like ``lines.LineSplitter``: any split of the same lines
into feeds gives the same groups, and the groups' lines, joined, are the lines
fed, in order (promise: no line lost, none repeated). A group's id is the end of
its last line, so a resume by id starts at the next line. A flush sends the open
group early (the hold expired on a quiet file); continuation lines that arrive
after it form a ``late`` group: the client attaches it to the event before
(README "Events", ``event: continuation``). Pure: no I/O, no gevent, no Flask.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .timestamps import detect

_JAVA = re.compile(r"(?:at |Caused by:|Suppressed:|\.\.\. \d+ (?:more|common frames omitted))")
MAX_GROUP_LINES = 1000  # lines one event holds at most; more continue it as a late group
TRACEBACK = "Traceback (most recent call last):"
_PY_LAST = re.compile(r"[A-Za-z_][\w.]*(?::.*)?$")  # ``ValueError: bad``, ``KeyboardInterrupt``


def is_continuation(text: str, stamped_file: bool) -> bool:
    """Whether ``text`` continues the line before it, by itself (the body of a
    Python traceback is the ``Grouper``'s to know): it starts with whitespace,
    ``at ``, ``Caused by:`` or ``... N more``; or, in a file whose lines mostly
    start with a timestamp (``stamped_file``), it does not start with one."""
    if not text:
        return False
    if text[0] in " \t" or _JAVA.match(text):
        return True
    return stamped_file and detect(text) is None


@dataclass
class Group:
    """One event: its lines, the end offset (or entry id) of the last one, and
    ``late``: it continues a group already sent."""

    texts: list[str]
    end: int | str
    late: bool = False


@dataclass
class Grouper:
    """Groups lines as they are fed. ``continuing``: the first lines fed may be the
    rest of a group that began before them (a resume by id mid-trace): they come
    out ``late``. ``stamps``/``heads`` count the head lines seen with and without a
    leading timestamp (seeded from the file's tail): "mostly" is more than half."""

    continuing: bool = False
    stamps: int = 0
    heads: int = 0
    _open: Group | None = None
    _traceback: bool = False  # inside a Python traceback's body: until its exception line
    _out: list[Group] = field(default_factory=list)

    @property
    def stamped(self) -> bool:
        return self.stamps * 2 > self.heads

    @property
    def open(self) -> bool:
        """A group is held: a later head line (or a flush) sends it."""
        return self._open is not None

    def feed(self, texts: Sequence[str], ends: Sequence[int | str]) -> list[Group]:
        """The groups the lines close (a head line closes the open group)."""
        out: list[Group] = []
        for text, end in zip(texts, ends, strict=True):
            if self._continues(text):
                if self._open is None:
                    self._open = Group([], end, late=self.continuing)
                self._open.texts.append(text)
                self._open.end = end
            else:
                self.heads += 1
                if detect(text) is not None:
                    self.stamps += 1
                if self._open is not None:
                    out.append(self._open)
                self._open = Group([text], end)
            self.continuing = False
            if text.startswith(TRACEBACK):
                self._traceback = True
            if len(self._open.texts) >= MAX_GROUP_LINES:  # memory stays bounded; the rest comes late
                out.append(self._open)
                self._open = None
                self.continuing = True
        return out

    def flush(self) -> list[Group]:
        """The open group, sent now; continuation lines fed next come out ``late``."""
        if self._open is None:
            return []
        group, self._open = self._open, None
        self.continuing = True
        return [group]

    def _continues(self, text: str) -> bool:
        if self._traceback and text and not text.startswith(TRACEBACK):
            if text[0] in " \t":
                return True
            self._traceback = False  # the body ends at its first line that is not indented
            if _PY_LAST.match(text) and detect(text) is None:
                return True  # the exception line (``ValueError: bad``) belongs to it
        if self._open is None and not self.continuing:
            return False  # nothing to continue: a file's first line is a head
        return is_continuation(text, self.stamped)


def group_start(texts: Sequence[str]) -> int:
    """The index in ``texts`` (lines in file order) of the head of the group the
    last line belongs to, grouping them as a stream from the first would: where a
    backlog or a page must begin so that it never starts inside a trace. The
    first line is taken as a head; 0 if the group reaches back that far."""
    if not texts:
        return 0
    probe = Grouper()
    last = [*probe.feed(texts, range(len(texts))), *probe.flush()][-1]
    return len(texts) - len(last.texts)
