"""config: every setting defined once, as ``Setting(name, default, help)``, and
filled from flags, then ``LOGSTREAM_*`` environment variables, then defaults.

The CLI, ``wsgi.py`` and the README all read this one table (tests/test_docs.py
fails if the README leaves a setting out). Defaults are safe: loopback only,
no CORS, no token file read unless asked. Never logs a secret.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str
    type: type = str
    repeat: bool = False  # a flag that may be given many times (a list)
    secret: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "LOGSTREAM_" + self.name.upper()


SETTINGS: list[Setting] = [
    Setting("host", "127.0.0.1", "address to listen on (loopback by default: say 0.0.0.0 to expose)"),
    Setting("port", 8080, "TCP port; 0 picks a free one (printed at start)", int),
    Setting("base_path", "", "serve everything under this URL prefix, e.g. /logs behind a reverse proxy"),
    Setting("backlog", 100, "lines of history a new stream starts with when ?lines= is not given", int),
    Setting("max_backlog", 10000, "largest ?lines= accepted (larger gets a 400)", int),
    Setting("max_line", 65536, "longest line in bytes; longer lines are cut with a visible marker", int),
    Setting("heartbeat", 15.0, "seconds between ': ping' comments on an idle stream", float),
    Setting("retry", 2000, "reconnection delay sent to clients (SSE retry:), in milliseconds", int),
    Setting("poll_interval", 1.0, "seconds between safety-net stat() checks of followed files "
            "(inotify does the real work; this catches what it cannot see, e.g. NFS)", float),
    Setting("queue_bytes", 4 * 1024 * 1024, "bytes of lines buffered per client before it is switched "
            "to catching up from the file (memory bound per slow client)", int),
]


@dataclass
class Config:
    root: Path
    host: str = "127.0.0.1"
    port: int = 8080
    base_path: str = ""
    backlog: int = 100
    max_backlog: int = 10000
    max_line: int = 65536
    heartbeat: float = 15.0
    retry: int = 2000
    poll_interval: float = 1.0
    queue_bytes: int = 4 * 1024 * 1024
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if self.base_path:
            self.base_path = "/" + self.base_path.strip("/")
            if self.base_path == "/":
                self.base_path = ""


def _convert(setting: Setting, raw: str | None, source: str):
    if raw is None:
        return None
    try:
        value = setting.type(raw)
    except ValueError:
        raise ConfigError(f"{source}: expected {setting.type.__name__}, got {raw!r}") from None
    if setting.type in (int, float) and value < 0:
        raise ConfigError(f"{source}: must not be negative, got {raw!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for s in SETTINGS:
        kind = "may repeat; " if s.repeat else ""
        default = "" if s.secret or s.default in (None, "", []) else f"default {s.default}; "
        parser.add_argument(
            s.flag,
            dest=s.name,
            metavar=s.name.split("_")[-1].upper(),
            action="append" if s.repeat else "store",
            default=None,
            help=f"{s.help} ({kind}{default}env {s.env})",
        )


def from_sources(root: str | None, args: argparse.Namespace | None, environ=os.environ) -> Config:
    """Flags, then environment, then defaults."""
    values = {}
    for s in SETTINGS:
        flag_value = getattr(args, s.name, None) if args is not None else None
        if flag_value is not None:
            if s.repeat:
                values[s.name] = [_convert(s, v, s.flag) for v in flag_value]
            else:
                values[s.name] = _convert(s, flag_value, s.flag)
        elif s.env in environ:
            raw = environ[s.env]
            if s.repeat:
                values[s.name] = [_convert(s, v.strip(), s.env) for v in raw.split(",") if v.strip()]
            else:
                values[s.name] = _convert(s, raw, s.env)
    root = root or environ.get("LOGSTREAM_ROOT")
    if not root:
        raise ConfigError("no log directory given (argument DIR or LOGSTREAM_ROOT)")
    path = Path(root)
    if not path.is_dir():
        raise ConfigError(f"{root}: not a directory")
    known = {f.name for f in fields(Config)}
    return Config(root=path.resolve(), **{k: v for k, v in values.items() if k in known})
