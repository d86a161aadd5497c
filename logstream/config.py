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
    Setting("token", None, "require this token on every API route (Bearer header, login cookie, or "
            "access_token if --query-token)", secret=True),
    Setting("token_file", None, "read the token from this file (first line) instead of the command line"),
    Setting("query_token", False, "also accept ?access_token= (EventSource cannot send headers; "
            "beware: query strings end up in proxy logs)", bool),
    Setting("cors_origin", [], "allow cross-origin requests from this origin, e.g. https://ops.example.com "
            "(closed by default)", repeat=True),
    Setting("max_connections", 10000, "open streams allowed in total; more get 503 with Retry-After "
            "(also capped below the file-descriptor limit)", int),
    Setting("max_per_ip", 0, "open streams allowed per client address; more get 429 (0: no limit; "
            "behind a proxy every client shares its address)", int),
    Setting("write_timeout", 30.0, "seconds a client may leave a write unread before it is disconnected "
            "(it then resumes by id)", float),
    Setting("header_timeout", 10.0, "seconds a client has to send its whole request head (request line and "
            "headers; with TLS, the handshake too), however slowly the bytes come; also how long an idle "
            "keep-alive connection waits for its next request (0: no limit)", float),
    Setting("max_unfinished", 1000, "connections allowed at once that have not finished sending their request "
            "head (new ones, and keep-alive ones between requests); more get 503 (0: no limit; also capped "
            "below the file-descriptor limit)", int),
    Setting("max_unfinished_per_ip", 100, "such connections allowed per client address; more get 429 (0: no "
            "limit; at most half of --max-unfinished)", int),
    Setting("tls_cert", None, "serve HTTPS with this certificate file (PEM)"),
    Setting("tls_key", None, "the private key for --tls-cert (PEM)"),
    # Scale-out (README "Scale-out (Redis Streams)"): web nodes and agents.
    Setting("redis", None, "Redis URL (redis://[:PASSWORD@]HOST:PORT/DB, rediss:// for TLS): a web node given "
            "this serves every agent's files instead of DIR; an agent ships DIR to it", secret=True),
    Setting("name", None, "agent: this host's name in the file list (HOST/path; default: the hostname)"),
    Setting("maxlen", 100000, "agent: lines kept per file stream in Redis (approximate trimming)", int),
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
    token: str | None = None
    token_file: str | None = None
    query_token: bool = False
    cors_origin: list = field(default_factory=list)
    max_connections: int = 10000
    max_per_ip: int = 0
    write_timeout: float = 30.0
    header_timeout: float = 10.0
    max_unfinished: int = 1000
    max_unfinished_per_ip: int = 100
    tls_cert: str | None = None
    tls_key: str | None = None
    redis: str | None = None
    name: str | None = None
    maxlen: int = 100000
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:  # never print the token
        return f"Config(root={str(self.root)!r}, host={self.host!r}, port={self.port})"

    def __post_init__(self) -> None:
        self.root = Path(self.root) if self.root is not None else None  # None: a Redis web node
        if self.base_path:
            self.base_path = "/" + self.base_path.strip("/")
            if self.base_path == "/":
                self.base_path = ""


def _convert(setting: Setting, raw: str | None, source: str):
    if raw is None:
        return None
    if setting.type is bool:
        if isinstance(raw, bool):
            return raw
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{source}: expected true or false, got {raw!r}")
    try:
        value = setting.type(raw)
    except ValueError:
        raise ConfigError(f"{source}: expected {setting.type.__name__}, got {raw!r}") from None
    if setting.type in (int, float) and value < 0:
        raise ConfigError(f"{source}: must not be negative, got {raw!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser, only: set[str] | None = None) -> None:
    for s in SETTINGS:
        if only is not None and s.name not in only:
            continue
        kind = "may repeat; " if s.repeat else ""
        default = "" if s.secret or s.default in (None, "", [], False) else f"default {s.default}; "
        if s.type is bool:
            parser.add_argument(s.flag, dest=s.name, action="store_true", default=None,
                                help=f"{s.help} ({kind}{default}env {s.env}=1)")
            continue
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
    if not root and values.get("redis"):
        path = None  # a web node of the scale-out: the files come from Redis
    elif not root:
        raise ConfigError("no log directory given (argument DIR or LOGSTREAM_ROOT)")
    else:
        path = Path(root)
        if not path.is_dir():
            raise ConfigError(f"{root}: not a directory")
        path = path.resolve()
    known = {f.name for f in fields(Config)}
    cfg = Config(root=path, **{k: v for k, v in values.items() if k in known})
    _check(cfg)
    return cfg


def _check(cfg: Config) -> None:
    if cfg.token_file:
        if cfg.token:
            raise ConfigError("give --token or --token-file, not both")
        try:
            with open(cfg.token_file, encoding="utf-8") as f:
                cfg.token = f.readline().strip()
        except OSError as exc:
            raise ConfigError(f"--token-file: cannot read {cfg.token_file}: {exc.strerror}") from None
    if cfg.token is not None:
        if len(cfg.token) < 8:
            raise ConfigError("the token must be at least 8 characters long")
    if cfg.query_token and not cfg.token:
        raise ConfigError("--query-token needs --token or --token-file")
    if bool(cfg.tls_cert) != bool(cfg.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    for path in (cfg.tls_cert, cfg.tls_key):
        if path and not os.access(path, os.R_OK):
            raise ConfigError(f"cannot read {path}")
    for origin in cfg.cors_origin:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(f"--cors-origin: expected an origin like https://example.com, got {origin!r}")
    if cfg.redis:
        from .redis_schema import check_url

        check_url(cfg.redis)
    if cfg.heartbeat and cfg.write_timeout and cfg.write_timeout < 1:
        raise ConfigError("--write-timeout: at least 1 second")
