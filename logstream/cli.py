"""cli: ``python -m logstream [demo] DIR [flags]``, ``python -m logstream --redis URL``
(a scale-out web node) and ``python -m logstream agent DIR --redis URL``. Parses flags (each with its
``LOGSTREAM_*`` variable, from ``config.SETTINGS``), then serves. A user never
sees a traceback: bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap

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
    """The server's (and the demo's) command line: the settings of ``serve``. Its
    help then lists the agent's own settings, which only ``logstream agent`` takes."""
    p = argparse.ArgumentParser(prog="logstream", description=DESCRIPTION, epilog=_agent_only(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"logstream {__version__}")
    config.add_arguments(p, config.SERVE)
    return p


def agent_parser() -> argparse.ArgumentParser:
    """The agent's command line: the settings of ``agent`` only."""
    p = argparse.ArgumentParser(prog="logstream agent", description="Tail every file under DIR and append "
                                "each line to its Redis stream, for web nodes started with --redis.")
    config.add_arguments(p, config.AGENT)
    return p


def _agent_only() -> str:
    """The agent's settings the server does not take, in the layout of argparse's help."""
    lines = ["agent-only settings (python -m logstream agent DIR --redis URL ...; see its --help):"]
    for s in config.settings_for(config.AGENT):
        if config.SERVE not in s.commands:
            head = f"  {s.flag} {s.value_name}"
            text = textwrap.wrap(config.describe(s), 54)
            if len(head) > 22:
                lines.append(head)
            else:
                lines.append(head.ljust(24) + text.pop(0))
            lines += [" " * 24 + line for line in text]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["agent"]:
        return _agent(argv[1:])
    args = parser().parse_args(argv)
    from .server import serve, setup_logging

    try:
        if args.root == "demo":
            return _demo(args)
        cfg = config.from_sources(args)
        if cfg.redis and args.root:
            raise config.ConfigError("a web node with --redis serves the agents' files: give no DIR "
                                     "(ship a directory with: python -m logstream agent DIR --redis URL)")
        setup_logging(cfg.log_level)
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
    from .server import serve, setup_logging

    with tempfile.TemporaryDirectory(prefix="logstream-demo-") as root:
        cfg = config.from_sources(argparse.Namespace(**{**vars(args), "root": root}))
        setup_logging(cfg.log_level)
        writer = gevent.spawn(write_forever, root)
        print(f"logstream: demo directory {root} (a writer appends lines; removed on exit)", flush=True)
        try:
            return serve(cfg)
        finally:
            writer.kill()


def _agent(argv: list[str]) -> int:
    args = agent_parser().parse_args(argv)
    from .agent import Agent
    from .server import setup_logging

    try:
        cfg = config.from_sources(args, command=config.AGENT)
        setup_logging(cfg.log_level)
        return Agent(cfg).run()
    except LogstreamError as exc:
        print(f"logstream agent: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
