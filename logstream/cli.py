"""cli: ``python -m logstream [demo] DIR [flags]``, ``python -m logstream --redis URL``
(a scale-out web node) and ``python -m logstream agent DIR --redis URL``. Parses flags (each with its
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
  python -m logstream agent DIR --redis redis://HOST:6379/0 --name web-1   # ship DIR to Redis
  python -m logstream --redis redis://HOST:6379/0                          # serve every agent's files
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


AGENT_SETTINGS = {"redis", "name", "maxlen", "max_line", "poll_interval"}


def agent_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="logstream agent", description="Tail every file under DIR and append "
                                "each line to its Redis stream, for web nodes started with --redis.")
    p.add_argument("dir", nargs="?", metavar="DIR", help="the log directory to ship (env LOGSTREAM_ROOT)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="log verbosity on stderr (default INFO)")
    config.add_arguments(p, AGENT_SETTINGS)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["agent"]:
        return _agent(argv[1:])
    args = parser().parse_args(argv)
    from .server import serve, setup_logging

    setup_logging(args.log_level)
    try:
        if args.dir == "demo":
            return _demo(args)
        cfg = config.from_sources(args.dir, args)
        if cfg.redis and args.dir:
            raise config.ConfigError("a web node with --redis serves the agents' files: give no DIR "
                                     "(ship a directory with: python -m logstream agent DIR --redis URL)")
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


def _agent(argv: list[str]) -> int:
    args = agent_parser().parse_args(argv)
    from .agent import Agent
    from .server import setup_logging

    setup_logging(args.log_level)
    try:
        cfg = config.from_sources(args.dir, args)
        if not cfg.redis:
            raise config.ConfigError("agent: --redis URL (or LOGSTREAM_REDIS) is required")
        if cfg.root is None:
            raise config.ConfigError("agent: no log directory given (argument DIR or LOGSTREAM_ROOT)")
        return Agent(cfg).run()
    except LogstreamError as exc:
        print(f"logstream agent: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
