"""config: every setting defined once, as a ``Setting`` row of ``SETTINGS`` (its
name, default, help, value kind and the commands it belongs to), and filled from
flags, then ``LOGSTREAM_*`` environment variables, then defaults.

Everything else is derived from that table: ``DEFAULTS``, the ``Config``
dataclass and its defaults, both command lines (``serve`` and ``agent``) with
their help, and the README's configuration table is checked against it
(tests/test_docs.py). Defaults are safe: loopback only, no CORS, no token file
read unless asked. Never logs or shows a secret; never starts anything.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import ssl
import sys
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path

from .errors import ConfigError

SERVE = "serve"  # the web server (and the demo, which serves a directory of its own)
AGENT = "agent"  # ``logstream agent``: ships a directory to Redis
BOTH = frozenset({SERVE, AGENT})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DAY = 86400.0  # seconds: the longest wait a setting takes (socket timeouts overflow past about 9e9 s)


@dataclass(frozen=True)
class Setting:
    """One setting: the flag ``--name-with-dashes`` (or the positional ``metavar``),
    the variable ``LOGSTREAM_NAME``, its default and its help. ``type`` converts
    the text of a flag or variable; a number must lie in ``[low, high]``."""

    name: str
    default: object
    help: str
    type: type = str
    metavar: str = ""  # what the value is, in --help: N, SECONDS, PATH, URL ...
    commands: frozenset[str] = frozenset({SERVE})
    repeat: bool = False  # a flag that may be given many times (a list)
    secret: bool = False  # its value (and so its default) is never shown
    choices: tuple[str, ...] = ()
    low: float = 0
    high: float = sys.maxsize  # the largest count C and Redis take
    positional: bool = False  # an argument, not a flag (the directory)

    @property
    def flag(self) -> str:
        """How it is given on the command line: ``--max-line``, or ``DIR``."""
        return self.metavar if self.positional else "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "LOGSTREAM_" + self.name.upper()

    @property
    def value_name(self) -> str:
        return self.metavar or {int: "N", float: "SECONDS"}.get(self.type) or self.name.split("_")[-1].upper()

    @property
    def shown_default(self) -> str | None:
        """The default as --help shows it, or None where there is nothing to show."""
        if self.secret or self.default is None or self.default is False or self.default in ("", ()):
            return None
        return _number(self.default) if isinstance(self.default, (int, float)) else str(self.default)


SETTINGS: list[Setting] = [
    Setting("root", None, "the log directory: every file under it, recursively, is served (or shipped by the "
            "agent); '-' serves standard input instead", Path, metavar="DIR", commands=BOTH, positional=True),
    Setting("host", "127.0.0.1", "address to listen on (loopback by default: say 0.0.0.0 to expose)"),
    Setting("port", 8080, "TCP port; 0 picks a free one (printed at start)", int, metavar="PORT", high=65535),
    Setting("base_path", "", "serve everything under this URL prefix, e.g. /logs behind a reverse proxy",
            metavar="PATH"),
    Setting("backlog", 100, "lines of history a new stream starts with when ?lines= is not given", int),
    Setting("max_backlog", 10000, "largest ?lines= accepted (larger gets a 400)", int),
    Setting("max_line", 65536, "longest line in bytes; longer lines are cut with a visible marker", int,
            metavar="BYTES", commands=BOTH, low=1),
    Setting("heartbeat", 15.0, "seconds between ': ping' comments on an idle stream (0: none)", float, high=DAY),
    Setting("retry", 2000, "reconnection delay sent to clients (SSE retry:), in milliseconds", int, metavar="MS",
            high=DAY * 1000),
    Setting("poll_interval", 1.0, "seconds between safety-net stat() checks of followed files "
            "(inotify does the real work; this catches what it cannot see, e.g. NFS)", float,
            commands=BOTH, low=0.01, high=DAY),
    Setting("rotate_wait", 5.0, "seconds a renamed (rotated) file is still read for lines its writer appends "
            "before reopening its log; the wait ends sooner once the new file has lines and the old one is quiet "
            "(0: move on at once)", float, commands=BOTH, high=DAY),
    Setting("queue_bytes", 4 * 1024 * 1024, "bytes of lines buffered per client before it is switched "
            "to catching up from the file (memory bound per slow client)", int, metavar="BYTES"),
    Setting("token", None, "require this token on every API route (Bearer header, login cookie, or "
            "access_token if --query-token)", metavar="TOKEN", secret=True),
    Setting("token_file", None, "read the token from this file (first line) instead of the command line",
            metavar="PATH"),
    Setting("query_token", False, "also accept ?access_token= (EventSource cannot send headers; "
            "beware: query strings end up in proxy logs)", bool),
    Setting("cors_origin", (), "allow cross-origin requests from this origin, e.g. https://ops.example.com "
            "(closed by default)", metavar="ORIGIN", repeat=True),
    Setting("max_connections", 10000, "open streams allowed in total; more get 503 with Retry-After "
            "(also capped below the file-descriptor limit)", int, low=1),
    Setting("max_per_ip", 0, "open streams allowed per client address; more get 429 (0: no limit; "
            "behind a proxy every client shares its address unless --trusted-proxies is set)", int),
    Setting("write_timeout", 30.0, "seconds a client may leave a write unread before it is disconnected "
            "(it then resumes by id; 0: never)", float, high=DAY),
    Setting("header_timeout", 10.0, "seconds a client has to send its whole request head (request line and "
            "headers; with TLS, the handshake too), however slowly the bytes come; also how long an idle "
            "keep-alive connection waits for its next request (0: no limit)", float, high=DAY),
    Setting("max_unfinished", 1000, "connections allowed at once that have not finished sending their request "
            "head (new ones, and keep-alive ones between requests); more get 503 (0: no limit; also capped "
            "below the file-descriptor limit)", int),
    Setting("max_unfinished_per_ip", 100, "such connections allowed per client address; more get 429 (0: no "
            "limit; at most half of --max-unfinished)", int),
    Setting("tls_cert", None, "serve HTTPS with this certificate file (PEM)", metavar="PATH"),
    Setting("tls_key", None, "the private key for --tls-cert (PEM, unencrypted)", metavar="PATH"),
    Setting("trusted_proxies", 0, "reverse proxies in front of this server whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed: the client's address (--max-per-ip, the access log) and scheme (the "
            "login cookie is Secure over https) come from them (0: those headers are ignored)", int, high=16),
    # Who may read what (README "Who may read what"): JWTs, a trusted proxy's user, path scopes.
    Setting("jwt_secret_file", None, "accept JWTs signed with HS256 by the secret in this file (at least 32 "
            "bytes; a trailing newline is dropped)", metavar="PATH"),
    Setting("jwt_public_key", None, "accept JWTs signed by the private half of this PEM public key: RS256 for "
            "RSA, ES256 for EC P-256", metavar="PATH"),
    Setting("jwt_audience", None, "a JWT's aud claim must name this audience (not checked when unset)",
            metavar="AUD"),
    Setting("jwt_issuer", None, "a JWT's iss claim must be this issuer (not checked when unset)", metavar="ISS"),
    Setting("user_header", None, "with --trusted-proxies: the request header in which the proxy names the "
            "signed-in user, e.g. X-Forwarded-User (ignored without --trusted-proxies)", metavar="HEADER"),
    Setting("groups_header", None, "with --user-header: the header carrying the user's groups, comma-separated, "
            "e.g. X-Forwarded-Groups", metavar="HEADER"),
    Setting("scopes", None, "TOML file mapping the proxy's users and groups to the path patterns they may read, "
            "with an optional default (a user with no entry and no default is refused)", metavar="FILE"),
    Setting("sign_out_url", None, "where the viewer's sign-out sends the browser afterwards, e.g. the proxy's "
            "/oauth2/sign_out", metavar="URL"),
    Setting("ops_token", None, "a token that opens /metrics only (for a Prometheus scraper; needs no user "
            "scope)", metavar="TOKEN", secret=True),
    # Standard input (README "Standard input"): ``logstream -``.
    Setting("stdin_name", "stdin.log", "with DIR '-': the file name standard input is served as", metavar="NAME"),
    Setting("spool", None, "with DIR '-': where the temporary spool directory is made (default: the system's "
            "temporary directory); it is removed at exit", metavar="PATH"),
    Setting("spool_max", 64 * 1024 * 1024, "with DIR '-': bytes of input kept on disk; the spool file rotates "
            "(NAME to NAME.1, the older one removed) at half of this", int, metavar="BYTES", low=1024 * 1024),
    Setting("exit_on_eof", False, "with DIR '-': exit once the input has ended and the clients were sent its "
            "last lines (default: serve until interrupted)", bool),
    # Scale-out (README "Scale-out (Redis Streams)"): web nodes and agents.
    Setting("redis", None, "Redis URL (redis://[:PASSWORD@]HOST:PORT/DB, rediss:// for TLS): a web node given "
            "this serves every agent's files instead of DIR; an agent ships DIR to it", metavar="URL",
            commands=BOTH, secret=True),
    Setting("name", None, "this host's name in the file list (HOST/path; default: the hostname)",
            metavar="NAME", commands=frozenset({AGENT})),
    Setting("maxlen", 100000, "lines kept per file stream in Redis (approximate trimming)", int,
            commands=frozenset({AGENT}), low=1),
    Setting("log_level", "INFO", "log verbosity on stderr: " + ", ".join(LOG_LEVELS), metavar="LEVEL",
            commands=BOTH, choices=LOG_LEVELS),
]

DEFAULTS: dict[str, object] = {s.name: s.default for s in SETTINGS}
STDIN = "-"  # DIR that means standard input
STDIN_ONLY = ("stdin_name", "spool", "spool_max", "exit_on_eof")


def _field(s: Setting) -> tuple:
    kind = list[str] if s.repeat else s.type
    if s.default is None:
        kind = kind | None
    if s.repeat:
        return s.name, kind, field(default_factory=lambda: list(s.default))
    return s.name, kind, field(default=s.default)


class _ConfigMethods:
    def __repr__(self) -> str:  # never print the token
        return f"Config(root={str(self.root)!r}, host={self.host!r}, port={self.port})"

    def __post_init__(self) -> None:
        self.root = Path(self.root) if self.root is not None else None  # None: a Redis web node
        if self.base_path:
            self.base_path = "/" + self.base_path.strip("/")
            if self.base_path == "/":
                self.base_path = ""


Config = make_dataclass("Config", [_field(s) for s in SETTINGS], bases=(_ConfigMethods,), repr=False)
Config.__module__ = __name__
Config.__doc__ = """The settings of one process, one attribute per row of ``SETTINGS`` (every one
has the table's default). ``root`` is a ``Path``, or None on a Redis web node;
``base_path`` is normalised to ``/prefix`` or ``""``."""


def settings_for(command: str) -> list[Setting]:
    """The rows of ``SETTINGS`` that ``command`` (``SERVE`` or ``AGENT``) reads."""
    return [s for s in SETTINGS if command in s.commands]


def describe(s: Setting) -> str:
    """The help text of one setting: its help, then how to repeat it, its default,
    its range and its variable."""
    notes = ["may repeat; comma-separated in the variable"] if s.repeat else []
    if s.shown_default is not None:
        notes.append(f"default {s.shown_default}")
    if s.type in (int, float) and s.high != sys.maxsize:
        notes.append(f"{_number(s.low)} to {_number(s.high)}")
    elif s.type in (int, float) and s.low:
        notes.append(f"at least {_number(s.low)}")
    notes.append(f"env {s.env}=1" if s.type is bool else f"env {s.env}")
    return f"{s.help} ({'; '.join(notes)})"


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the flags (and the directory argument) of ``command`` to ``parser``. Every
    default is None, so ``from_sources`` can tell a flag given from one left out."""
    for s in settings_for(command):
        if s.positional:
            parser.add_argument(s.name, nargs="?", metavar=s.metavar, help=describe(s))
        elif s.type is bool:
            parser.add_argument(s.flag, dest=s.name, action="store_true", default=None, help=describe(s))
        else:
            parser.add_argument(s.flag, dest=s.name, metavar=s.value_name, action="append" if s.repeat else "store",
                                default=None, help=describe(s))


def _convert(s: Setting, raw: str, source: str):
    """The value of one flag or variable, checked against the row; raises ConfigError."""
    if s.type is bool:
        if isinstance(raw, bool):
            return raw
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{source}: expected true or false, got {raw!r}")
    if s.choices and raw not in s.choices:
        raise ConfigError(f"{source}: expected one of {', '.join(s.choices)}, got {raw!r}")
    try:
        value = s.type(raw)
    except ValueError:
        raise ConfigError(f"{source}: expected {s.type.__name__}, got {raw!r}") from None
    if s.type in (int, float):
        if not math.isfinite(value):
            raise ConfigError(f"{source}: expected a finite number, got {raw!r}")
        if value < s.low:
            need = "must not be negative" if s.low == 0 else f"must be at least {_number(s.low)}"
            raise ConfigError(f"{source}: {need}, got {raw!r}")
        if value > s.high:
            raise ConfigError(f"{source}: must be at most {_number(s.high)}, got {raw!r}")
    return value


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def from_sources(args: argparse.Namespace | None = None, environ=os.environ, command: str = SERVE,
                 stdin: bool = False) -> Config:
    """The checked settings of ``command``: flags (``args``, as parsed by a parser
    from ``add_arguments``), then environment, then defaults. Settings of other
    commands keep their defaults. Raises ConfigError, in one line, for anything
    that would fail later: a number out of range, a certificate that does not load,
    a base path that is no URL path, a missing directory. ``stdin``: DIR is ``-``
    (``logstream -``), whose directory the CLI makes; elsewhere ``-`` is no directory."""
    values = {}
    for s in settings_for(command):
        flag_value = getattr(args, s.name, None) if args is not None else None
        env_value = environ.get(s.env)
        if s.positional:  # an empty DIR (or LOGSTREAM_ROOT) names no directory
            flag_value, env_value = flag_value or None, env_value or None
        if flag_value is not None:
            source, raw = s.flag, flag_value
        elif env_value is not None:
            source, raw = s.env, env_value
            if s.repeat:
                raw = [v.strip() for v in raw.split(",") if v.strip()]
        else:
            continue
        values[s.name] = [_convert(s, v, source) for v in raw] if s.repeat else _convert(s, raw, source)
    cfg = Config(**values)
    _check_root(cfg, command, stdin)
    _check(cfg)
    return cfg


def _check_root(cfg: Config, command: str, stdin: bool = False) -> None:
    if command == AGENT and not cfg.redis:
        raise ConfigError("--redis URL (or LOGSTREAM_REDIS) is required")
    if cfg.root is None:
        if command == SERVE and cfg.redis:
            return  # a web node of the scale-out: the files come from Redis
        raise ConfigError("no log directory given (argument DIR or LOGSTREAM_ROOT)")
    if stdin and str(cfg.root) == STDIN:
        return  # standard input: its spool directory is made when it is served (cli)
    if not cfg.root.is_dir():
        raise ConfigError(f"{cfg.root}: not a directory")
    cfg.root = cfg.root.resolve()


def _check(cfg: Config) -> None:
    if not cfg.host or cfg.host != cfg.host.strip():
        # "" would listen on every interface: never by accident (say 0.0.0.0).
        raise ConfigError(f"--host: expected an address or host name, got {cfg.host!r}")
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
    _check_identities(cfg)
    if cfg.query_token and not cfg.token:
        raise ConfigError("--query-token needs --token or --token-file")
    if bool(cfg.tls_cert) != bool(cfg.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    if cfg.tls_cert:
        _check_tls(cfg.tls_cert, cfg.tls_key)
    for origin in cfg.cors_origin:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(f"--cors-origin: expected an origin like https://example.com, got {origin!r}")
    if cfg.redis:
        from .redis_schema import check_url

        check_url(cfg.redis)
    if cfg.heartbeat and cfg.write_timeout and cfg.write_timeout < 1:
        raise ConfigError("--write-timeout: at least 1 second")
    if cfg.base_path and not _BASE_PATH.fullmatch(cfg.base_path):
        raise ConfigError(f"--base-path: expected a URL path like /logs, got {cfg.base_path!r}")
    name = cfg.stdin_name
    if not name or "/" in name or "\0" in name or name in (".", "..") or len(name.encode(errors="replace")) > 200:
        raise ConfigError(f"--stdin-name: expected a file name like build.log, got {name!r}")
    if cfg.spool and not os.path.isdir(cfg.spool):
        raise ConfigError(f"--spool: {cfg.spool}: not a directory")


_HEADER = re.compile(r"[A-Za-z0-9-]{1,100}")


def _check_identities(cfg: Config) -> None:
    """The settings of README "Who may read what", loaded as the server will."""
    from .jwt_auth import JwtVerifier
    from .scopes import load_scopes_file

    JwtVerifier.from_config(cfg)
    for name in ("user_header", "groups_header"):
        value = getattr(cfg, name)
        if value is not None and not _HEADER.fullmatch(value):
            raise ConfigError(f"--{name.replace('_', '-')}: expected a header name like X-Forwarded-User, "
                              f"got {value!r}")
    if cfg.groups_header and not cfg.user_header:
        raise ConfigError("--groups-header needs --user-header")
    if cfg.scopes:
        if not cfg.user_header:
            raise ConfigError("--scopes maps a proxy's users: it needs --user-header (and --trusted-proxies)")
        load_scopes_file(cfg.scopes)
    if cfg.sign_out_url and not cfg.sign_out_url.startswith(("/", "http://", "https://")):
        raise ConfigError(f"--sign-out-url: expected a path or an http(s) URL, got {cfg.sign_out_url!r}")
    if cfg.ops_token is not None and len(cfg.ops_token) < 8:
        raise ConfigError("the ops token must be at least 8 characters long")


# Segments of plain URL path characters (RFC 3986 pchar without percent-escapes,
# which compare differently before and after decoding), none of them "." or "..".
_BASE_PATH = re.compile(r"(/(?!\.\.?(?:/|$))[A-Za-z0-9._~!$&'()*+,;=:@-]+)+")


def _check_tls(cert: str, key: str) -> None:
    """Load the pair as the server will, so a bad file fails now rather than on
    every connection. An encrypted key is refused: it would ask for its passphrase."""
    for path in (cert, key):
        if not os.access(path, os.R_OK):
            raise ConfigError(f"cannot read {path}")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cert)
    except (ssl.SSLError, OSError):
        raise ConfigError(f"--tls-cert: {cert} holds no PEM certificate") from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=lambda: b"")
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise ConfigError(f"--tls-key: {key} is not the key of the certificate in {cert}") from None
        raise ConfigError(f"--tls-key: {key} holds no unencrypted PEM private key") from None
    except OSError as exc:
        raise ConfigError(f"--tls-cert/--tls-key: {exc.strerror}") from None
