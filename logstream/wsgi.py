"""wsgi: the WSGI entry for gunicorn, in the installed package, configured from
LOGSTREAM_* variables:

    LOGSTREAM_ROOT=/var/log/myapp gunicorn -k gevent --worker-connections 2000 -w 1 -b 127.0.0.1:8080 \
        logstream.wsgi:app

(The checkout's top-level ``wsgi.py`` imports this module, so ``wsgi:app`` works too.)

Set ``--worker-connections`` explicitly: each open stream holds one, and past the
limit (default 1000) further clients hang without an error. Each worker starts its
own watcher on its first request, so ``--preload`` is harmless. Prefer one worker:
every worker tails the files it serves on its own. gunicorn's server reads the
requests, so logstream's --header-timeout and --max-unfinished do not apply: keep
gunicorn's ``--keep-alive`` at a few seconds (never 0), it is the request head's
deadline there, and put nginx in front (docs/deploy.md).
"""

from gevent import monkey

# Patch before anything else is imported; see logstream/entry.py for why the
# queue module must stay the stdlib one. gunicorn's gevent worker has already run
# a full patch_all(); give the queue module its own classes back before watchdog
# subclasses them (the stdlib queue is cooperative over patched locks).
if not monkey.is_module_patched("threading"):
    monkey.patch_all(queue=False)
elif monkey.is_module_patched("queue"):
    import queue

    for _name in ("Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"):
        setattr(queue, _name, monkey.get_original("queue", _name))

from logstream import config  # noqa: E402
from logstream.server import build, raise_fd_limit, setup_logging  # noqa: E402

_config = config.from_sources()
setup_logging(_config.log_level)
raise_fd_limit()
app, _runtime = build(_config)
