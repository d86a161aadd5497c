"""``python -m logstream``: the same as the ``logstream`` command (see ``entry``,
which patches gevent before anything else is imported)."""

from logstream.entry import main

raise SystemExit(main())
