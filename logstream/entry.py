"""entry: the ``logstream`` command (the console script) and ``python -m logstream``.
Patches gevent, first and only here (and in ``wsgi``, gunicorn's target), then
hands over to the CLI. Importing this module patches nothing; ``main()`` does.

Why ``patch_all(queue=False)``: with threading patched, watchdog's observer and
inotify threads run as greenlets and their ``select.poll`` wait is cooperative, so
its handlers may wake gevent events directly and nothing blocks the hub. But
watchdog 7 subclasses ``queue.Queue`` (watchdog/utils/bricks.py); gevent's
replacement class has other internals, and the observer dies with ``TypeError``
and delivers nothing, silently. The stdlib queue over patched locks is cooperative
anyway. tests/test_gevent_watchdog.py fails if this regresses.
"""

from __future__ import annotations


def main() -> int:
    """Patch, then run the command line; returns the exit status."""
    from gevent import monkey

    # Before anything that imports threading, socket or ssl: the console script
    # has imported only this module and the package's version so far.
    monkey.patch_all(queue=False)

    from .cli import main as cli_main

    return cli_main()
