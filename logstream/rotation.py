"""rotation: what a tailer does while its path names a new file but the renamed
one may still be written. With logrotate's ``create``, the application goes on
appending to the renamed file until it reopens its log (a postrotate signal), so
the tailer keeps reading the old file a while before it moves on; what is written
there after that is reported, never silently dropped (promise: never silent).
Pure timing and an ``fstat`` per kept file: no gevent, no reads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from .segments import Segment

ROTATE_QUIET = 1.0  # seconds the renamed file must stay unchanged, once the new one has lines, to end the wait
ROTATE_POLL = 0.1  # seconds between checks while a rotation waits (no inotify event may come)
LATE_EVERY = 1.0  # seconds between looks at renamed files for lines written too late (an fstat each)


class RotationWait:
    """One tailer's rotation wait. ``waiting(read_pos, new_size)``, asked at each
    check while the path names another file, says whether to keep reading the old
    one: until the new file has lines and the old one has been quiet for
    ``ROTATE_QUIET`` seconds (the writer moved over), or for ``rotate_wait``
    seconds at most (fluentd's ``rotate_wait``, same default). The history stays
    one line (old file, ``rotate``, new file), so ids resume exactly."""

    __slots__ = ("rotate_wait", "_since", "_old_size", "_old_grew_at", "_late_checked")

    def __init__(self, rotate_wait: float) -> None:
        self.rotate_wait = rotate_wait
        self._since: float | None = None
        self._old_size = 0
        self._old_grew_at = 0.0
        self._late_checked = 0.0

    @property
    def pending(self) -> bool:
        """A wait is under way (check more often: no event may come)."""
        return self._since is not None

    def clear(self) -> None:
        """The path names the followed file (again), or a new one is followed."""
        self._since = None

    def waiting(self, read_pos: int, new_size: int) -> bool:
        """``read_pos``: how far the old file has been read (bytes); ``new_size``:
        the new file's size now."""
        if self.rotate_wait <= 0:
            return False
        now = time.monotonic()
        if self._since is None:
            self._since, self._old_size, self._old_grew_at = now, read_pos, now
            return True
        if read_pos != self._old_size:
            self._old_size, self._old_grew_at = read_pos, now
        if now - self._since >= self.rotate_wait:
            return False
        return not (new_size > 0 and now - self._old_grew_at >= ROTATE_QUIET)

    def late_check_due(self) -> bool:
        """At most once per ``LATE_EVERY`` seconds (each costs an fstat per kept file)."""
        return time.monotonic() - self._late_checked >= LATE_EVERY

    def late_writes(self, closed: list[Segment]) -> Iterator[tuple[Segment, int]]:
        """The closed segments whose files grew past their end since last reported,
        with the bytes written there after the wait: (segment, bytes), once per growth."""
        self._late_checked = time.monotonic()
        for seg in closed:
            if seg.fd is None or seg.end is None:
                continue
            try:
                size = os.fstat(seg.fd).st_size
            except OSError:
                continue
            late = size - seg.end
            if late > seg.late:
                seg.late = late
                yield seg, late
