"""cli: ``python -m logstream [demo] DIR [flags]``, ``python -m logstream --redis URL``
(a scale-out web node) and ``python -m logstream agent DIR --redis URL``. Parses
flags (each with its ``LOGSTREAM_*`` variable, from ``config.SETTINGS``), then runs
the subcommand through ``run``, the one error path of every subcommand. A user
never sees a traceback: bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
from collections.abc import Callable

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
    """``python -m logstream [agent] ...``: parse the command line, then run the
    subcommand through ``run``. Returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["agent"]:
        p, command, argv = agent_parser(), _agent, argv[1:]
    else:
        p, command = parser(), _serve
    args = p.parse_args(argv)
    if command is _serve and args.root == "demo":
        command = _demo
    return run(command, args, p.prog)


def run(command: Callable[[argparse.Namespace], int], args: argparse.Namespace, prog: str = "logstream") -> int:
    """Run one subcommand (serve, demo, agent) and return its exit status. The one
    place where what a subcommand raises becomes a status: a ``LogstreamError`` is
    ``PROG: error: MESSAGE`` on stderr and 2 (as argparse does for a bad flag), an
    ``OSError`` one such line and 1, Ctrl-C 130. Never a traceback."""
    try:
        return command(args)
    except LogstreamError as exc:
        message, status = exc.message, 2
    except OSError as exc:
        message, status = _describe_os_error(exc), 1
    except KeyboardInterrupt:
        return 130
    print(f"{prog}: error: {message}", file=sys.stderr)
    return status


def _describe_os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror or str(exc)


def _serve(args: argparse.Namespace) -> int:
    cfg = config.from_sources(args)
    if cfg.redis and args.root:
        raise config.ConfigError("a web node with --redis serves the agents' files: give no DIR "
                                 "(ship a directory with: python -m logstream agent DIR --redis URL)")
    from .server import serve, setup_logging

    setup_logging(cfg.log_level)
    return serve(cfg)


def _demo(args: argparse.Namespace) -> int:
    import gevent

    from .demo import write_forever
    from .server import serve, setup_logging

    with tempfile.TemporaryDirectory(prefix="logstream-demo-") as root:
        cfg = config.from_sources(argparse.Namespace(**{**vars(args), "root": root}))
        cfg.default_file = "app.log"  # not a setting: a first-time user sees lines moving at once (/healthz)
        setup_logging(cfg.log_level)
        writer = gevent.spawn(write_forever, root)
        print(f"logstream: demo directory {root} (a writer appends lines; removed on exit)", flush=True)
        try:
            return serve(cfg)
        finally:
            writer.kill()


def _agent(args: argparse.Namespace) -> int:
    cfg = config.from_sources(args, command=config.AGENT)
    from .agent import Agent
    from .server import setup_logging

    setup_logging(cfg.log_level)
    return Agent(cfg).run()
