"""cli: ``python -m logstream [demo] DIR [flags]``. Parses flags (each with its
``LOGSTREAM_*`` variable, from ``config.SETTINGS``), then serves. A user never
sees a traceback: bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
import tempfile

from . import __version__, config
from .errors import LogstreamError

DESCRIPTION = """\
Serve every log file under DIR as live, resumable Server-Sent Event streams, with
a viewer at / . Every flag can also be set by the environment variable named in
its help; flags win over the environment.

  python -m logstream /var/log/myapp
  python -m logstream demo            # a demo directory with a live writer
  curl -N http://127.0.0.1:8080/api/stream/app.log
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="logstream", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", nargs="?", metavar="DIR",
                   help="the log directory to serve (env LOGSTREAM_ROOT); 'demo' runs the demo")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="server log verbosity on stderr (default INFO)")
    p.add_argument("--version", action="version", version=f"logstream {__version__}")
    config.add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from .server import serve, setup_logging

    setup_logging(args.log_level)
    try:
        if args.dir == "demo":
            return _demo(args)
        cfg = config.from_sources(args.dir, args)
        return serve(cfg)
    except LogstreamError as exc:
        print(f"logstream: error: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"logstream: error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _demo(args: argparse.Namespace) -> int:
    import gevent

    from .demo import write_forever
    from .server import serve

    with tempfile.TemporaryDirectory(prefix="logstream-demo-") as root:
        writer = gevent.spawn(write_forever, root)
        cfg = config.from_sources(root, args)
        print(f"logstream: demo directory {root} (a writer appends lines; removed on exit)", flush=True)
        try:
            return serve(cfg)
        finally:
            writer.kill()
