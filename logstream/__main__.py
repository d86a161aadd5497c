"""``python -m logstream``: patch gevent first, then hand over to the CLI.

Why ``patch_all(queue=False)``: with threading patched, watchdog's observer and
inotify threads run as greenlets and their ``select.poll`` wait is cooperative, so
its handlers may wake gevent events directly and nothing blocks the hub. But
watchdog 7 subclasses ``queue.Queue`` (watchdog/utils/bricks.py); gevent's
replacement class has other internals, and the observer dies with ``TypeError``
and delivers nothing, silently. The stdlib queue over patched locks is cooperative
anyway. tests/test_gevent_watchdog.py fails if this regresses.
"""

from gevent import monkey

monkey.patch_all(queue=False)

from logstream.cli import main  # noqa: E402

raise SystemExit(main())
