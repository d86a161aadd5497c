"""cli: ``logstream [demo] DIR [flags]``, ``logstream -`` (standard input),
``logstream --redis URL`` (a scale-out web node) and ``logstream agent DIR --redis
URL``. Parses
flags (each with its ``LOGSTREAM_*`` variable, from ``config.SETTINGS``), then runs
the subcommand through ``run``, the one error path of every subcommand. A user
never sees a traceback: bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from . import __version__, config
from .errors import LogstreamError

log = logging.getLogger("logstream")
STDIN_FD = 0
EOF_GRACE = 10.0  # seconds --exit-on-eof waits for the streams to be sent the end of the input

DESCRIPTION = """\
Serve every log file under DIR as live, resumable Server-Sent Event streams, with
a viewer at / . Every flag can also be set by the environment variable named in
its help; flags win over the environment.

  logstream /var/log/myapp
  logstream demo                      # a demo directory with a live writer
  make 2>&1 | logstream - --stdin-name build.log   # standard input, served as build.log
  logstream agent DIR --redis redis://HOST:6379/0 --name web-1   # ship DIR to Redis
  logstream --redis redis://HOST:6379/0                          # serve every agent's files
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
    elif command is _serve and args.root == config.STDIN:
        command = _stdin
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


def _no_stdin_flags(args: argparse.Namespace) -> None:
    for name in config.STDIN_ONLY:
        if getattr(args, name, None) is not None:
            flag = "--" + name.replace("_", "-")
            raise config.ConfigError(f"{flag} is for standard input: give '-' as DIR (some-command | logstream -)")


def _serve(args: argparse.Namespace) -> int:
    _no_stdin_flags(args)
    cfg = config.from_sources(args)
    if cfg.redis and args.root:
        raise config.ConfigError("a web node with --redis serves the agents' files: give no DIR "
                                 "(ship a directory with: python -m logstream agent DIR --redis URL)")
    from .server import serve, setup_logging

    setup_logging(cfg.log_level)
    return serve(cfg)


def _demo(args: argparse.Namespace) -> int:
    _no_stdin_flags(args)
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


def _stdin(args: argparse.Namespace) -> int:
    """``logstream -``: standard input spooled into a temporary directory that is
    served (and removed at exit). Its end is told to the streams (``eof``); with
    --exit-on-eof the server then stops once they were sent it."""
    cfg = config.from_sources(args, stdin=True)
    if cfg.redis:
        raise config.ConfigError("--redis serves the agents' files, not standard input")
    try:
        os.fstat(STDIN_FD)  # closed, the spool file would get its number and read itself
    except OSError:
        raise config.ConfigError("standard input is closed: pipe a command into it (cmd | logstream -)") from None
    import gevent

    from .server import serve, setup_logging
    from .spool import Spool

    setup_logging(cfg.log_level)
    with tempfile.TemporaryDirectory(prefix="logstream-stdin-", dir=cfg.spool) as root:
        cfg.root = Path(root).resolve()
        cfg.rotate_wait = 0.0  # the spool never writes a file it rotated away: move on at once
        spool = Spool(STDIN_FD, cfg.root, cfg.stdin_name, cfg.spool_max)
        print(f"logstream: standard input is {cfg.stdin_name} in {root} (removed on exit)", flush=True)
        failed: list[OSError] = []  # the spool could not be written: the server stops, and says why
        copier: list[gevent.Greenlet] = []

        def copy(runtime, stop) -> None:
            try:
                ino, size = spool.run()
            except OSError as exc:
                failed.append(exc)
                stop()
                return
            runtime.source.end_of_input(cfg.stdin_name, ino, size)
            log.info("standard input ended (%d bytes in the last spool file)", size)
            if cfg.exit_on_eof:
                deadline = time.monotonic() + EOF_GRACE
                while not runtime.source.told_eof(cfg.stdin_name) and time.monotonic() < deadline:
                    gevent.sleep(0.05)
                stop()

        try:
            status = serve(cfg, lambda runtime, stop: copier.append(gevent.spawn(copy, runtime, stop)))
        finally:
            for greenlet in copier:
                greenlet.kill()  # a read still waiting on a terminal gives its descriptor's flags back
            spool.close()
        if failed:
            raise failed[0]
        return status


def _agent(args: argparse.Namespace) -> int:
    cfg = config.from_sources(args, command=config.AGENT)
    from .agent import Agent
    from .server import setup_logging

    setup_logging(cfg.log_level)
    return Agent(cfg).run()
