"""sources.local: the directory on this machine as a source. Topics over tailers
(one tailer per followed file, started by its first subscriber), the one watcher
of the tree, and a ``FileFollower`` (``sources.file_follower``) per file per
stream. Never reads a file's lines itself; opens files only through ``paths``.
"""

from __future__ import annotations

import os

import gevent

from .. import paths
from ..file_index import Listing
from ..history import History
from ..tailer import Tailer
from ..topic import Topic, Topics
from ..watcher import WakeIndex, Watcher
from .file_follower import FileFollower


class FileTopic(Topic):
    """One followed file: its subscribers and its tailer."""

    def __init__(self, topics: FileTopics, key: str) -> None:
        super().__init__(key)
        self.tailer = Tailer(topics.root, key, topics.max_line, None, self.publish, pace=self.pace,
                             rotate_wait=topics.rotate_wait)  # its safety-net poll: FileTopics._poll
        self.told_eof: set = set()  # subscribers whose stream has sent the ``eof`` event

    def pace(self) -> float:
        """Least seconds between two reads of the file: more subscribers, fewer and
        fuller batches (one socket write carries many lines), at most 4 ms of added
        latency. With one subscriber, 20 µs: every line at once."""
        return min(0.004, 20e-6 * len(self.subscribers))


class FileTopics(Topics):
    """Path → topic; the first subscriber starts the file's tailer, the last
    one leaving stops it. File-system events wake the tailers of their directory;
    one greenlet wakes them all every ``poll_interval`` seconds (the safety net for
    what inotify cannot see). A wait with a timeout in each tailer armed and
    cancelled a libev timer per wake-up: 6% of the server's CPU at 1,000 lines/s."""

    def __init__(self, root, max_line: int, poll_interval: float, rotate_wait: float = 0.0) -> None:
        super().__init__()
        self.root = root
        self.max_line = max_line
        self.poll_interval = poll_interval
        self.rotate_wait = rotate_wait
        self.index = WakeIndex(root)
        self.ended: dict[str, tuple[int, int]] = {}  # path → (inode, size) its writer ended with
        self._poller: gevent.Greenlet | None = None

    def open_topic(self, key: str) -> FileTopic:
        topic = FileTopic(self, key)
        topic.tailer.start()  # NotFound / PathRejected: nobody subscribes
        self.index.add(key, topic.tailer)
        if self._poller is None or self._poller.dead:
            self._poller = gevent.spawn(self._poll)
        if key in self.ended:
            topic.tailer.end_of_input(*self.ended[key])
        return topic

    def end_of_input(self, key: str, ino: int, size: int) -> None:
        """Nothing more will be written to ``key`` (inode ``ino`` ends at ``size``):
        its followers, now and later, send ``eof`` after its last line."""
        self.ended[key] = (ino, size)
        topic = self.topics.get(key)
        if topic is not None:
            topic.tailer.end_of_input(ino, size)

    def close_topic(self, topic: FileTopic) -> None:
        self.index.discard(topic.key, topic.tailer)
        topic.tailer.stop()

    def _poll(self) -> None:
        """Wake every tailer every ``poll_interval`` seconds while any file is followed."""
        while self.topics:
            gevent.sleep(self.poll_interval)
            self.index.wake_all()

    def touched(self, path: str) -> None:
        """A file-system event at ``path`` (the watcher calls this)."""
        self.index.touched(path)

    def appended(self, path: str) -> None:
        """The file at ``path`` was written to (the watcher calls this)."""
        self.index.appended(path)

    def wake_all(self) -> None:
        """File-system events were lost (the watcher calls this)."""
        self.index.wake_all()


class LocalSource:
    """The directory ``config.root``: see ``sources.base.Source``."""

    kind = "inotify"

    def __init__(self, config) -> None:
        self.config = config
        self.name = paths.public_name(config.root.name)
        self.topics = FileTopics(config.root, config.max_line, config.poll_interval, config.rotate_wait)
        self.watcher = Watcher(config.root, self.topics)

    @property
    def alive(self) -> bool:
        return self.watcher.alive

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.topics.close()
        self.watcher.stop()

    def list_files(self, prefix: str = "", q: str = "", limit: int | None = None) -> Listing:
        """From the watcher's index (the first call waits for its first walk)."""
        index = self.watcher.index
        index.ready.wait()
        return index.listing(prefix, q, limit)

    def add_listener(self, listener) -> None:
        self.watcher.listeners.add(listener)

    def remove_listener(self, listener) -> None:
        self.watcher.listeners.discard(listener)

    def follower(self, stream, rel: str, index: int) -> FileFollower:
        key = os.path.normpath(rel)
        # Through the gate even when the file's topic is open already (for another
        # client): the caller's scope is checked there.
        paths.resolve(self.config.root, rel)
        topic = self.topics.subscribe(key, stream.sub, index)
        return FileFollower(stream, rel, index, self.topics, topic)

    def open_file(self, rel: str) -> tuple[int, os.stat_result]:
        return paths.open_file(self.config.root, rel)

    def history(self, rel: str) -> History:
        """``rel``'s history (its rotated siblings, then the file), read lazily;
        a context manager. Raises ``NotFound``, ``PathRejected``, ``Unsupported``."""
        return History(self.config.root, rel, self.config.max_line, pause=gevent.sleep)

    def end_of_input(self, rel: str, ino: int, size: int) -> None:
        """The writer of ``rel`` is done (standard input ended): see ``FileTopics``."""
        self.topics.end_of_input(os.path.normpath(rel), ino, size)

    def told_eof(self, rel: str) -> bool:
        """Whether every stream following ``rel`` has been sent its ``eof`` event."""
        topic = self.topics.topics.get(os.path.normpath(rel))
        return topic is None or all(sub in topic.told_eof for sub in topic.subscribers)
