"""Every setting is checked before anything is served or shipped: a bad value,
from a flag or from its variable, is one line on stderr and exit 2, never a
traceback and never a server that starts and then fails on every connection
(a certificate that is not one, a port past 65535)."""

import shutil
import subprocess
import sys
from typing import NamedTuple

import pytest

from conftest import ROOT
from logstream import agent, cli, server
from logstream.config import SETTINGS

REDIS = "redis://127.0.0.1:1/0"  # never connected to: every case fails before


class Case(NamedTuple):
    setting: str
    args: tuple[str, ...]
    message: str
    env: dict[str, str] = {}


CASES = [
    Case("root", ("/nonexistent/dir",), "logstream: error: /nonexistent/dir: not a directory"),
    Case("root", ("{file}",), "not a directory"),
    Case("root", (), "no log directory given", {"LOGSTREAM_ROOT": ""}),
    Case("host", ("{dir}", "--host", ""), "--host: expected an address or host name, got ''"),
    Case("host", ("{dir}",), "--host: expected an address", {"LOGSTREAM_HOST": " 127.0.0.1"}),
    Case("port", ("{dir}", "--port", "99999"), "--port: must be at most 65535, got '99999'"),
    Case("port", ("{dir}", "--port", "-1"), "--port: must not be negative"),
    Case("port", ("{dir}", "--port", "http"), "--port: expected int, got 'http'"),
    Case("port", ("{dir}",), "LOGSTREAM_PORT: must be at most 65535", {"LOGSTREAM_PORT": "65536"}),
    Case("base_path", ("{dir}", "--base-path", "/my logs"), "--base-path: expected a URL path like /logs"),
    Case("base_path", ("{dir}", "--base-path", "/logs/../admin"), "--base-path: expected a URL path"),
    Case("base_path", ("{dir}", "--base-path", "/logs?x=1"), "--base-path: expected a URL path"),
    Case("base_path", ("{dir}", "--base-path", "/a%2Fb"), "--base-path: expected a URL path"),
    Case("backlog", ("{dir}", "--backlog", "-1"), "--backlog: must not be negative"),
    Case("backlog", ("{dir}", "--backlog", "1.5"), "--backlog: expected int"),
    Case("max_backlog", ("{dir}", "--max-backlog", "-1"), "--max-backlog: must not be negative"),
    Case("max_backlog", ("{dir}", "--max-backlog", "many"), "--max-backlog: expected int, got 'many'"),
    Case("max_line", ("{dir}", "--max-line", "0"), "--max-line: must be at least 1, got '0'"),
    Case("heartbeat", ("{dir}", "--heartbeat", "nan"), "--heartbeat: expected a finite number"),
    Case("heartbeat", ("{dir}", "--heartbeat", "inf"), "--heartbeat: expected a finite number"),
    Case("heartbeat", ("{dir}", "--heartbeat", "-1"), "--heartbeat: must not be negative"),
    Case("heartbeat", ("{dir}", "--heartbeat", "1e10"), "--heartbeat: must be at most 86400"),
    Case("retry", ("{dir}", "--retry", "-5"), "--retry: must not be negative"),
    Case("retry", ("{dir}", "--retry", "2s"), "--retry: expected int"),
    Case("retry", ("{dir}", "--retry", "99999999999"), "--retry: must be at most 86400000"),
    Case("poll_interval", ("{dir}", "--poll-interval", "0"), "--poll-interval: must be at least 0.01"),
    Case("poll_interval", ("{dir}",), "LOGSTREAM_POLL_INTERVAL: expected float", {"LOGSTREAM_POLL_INTERVAL": "1s"}),
    Case("rotate_wait", ("{dir}", "--rotate-wait", "-1"), "--rotate-wait: must not be negative"),
    Case("header_timeout", ("{dir}", "--header-timeout", "-1"), "--header-timeout: must not be negative"),
    Case("max_unfinished", ("{dir}", "--max-unfinished", "lots"), "--max-unfinished: expected int"),
    Case("max_unfinished_per_ip", ("{dir}", "--max-unfinished-per-ip", "-3"),
         "--max-unfinished-per-ip: must not be negative"),
    Case("queue_bytes", ("{dir}", "--queue-bytes", "-1"), "--queue-bytes: must not be negative"),
    Case("queue_bytes", ("{dir}", "--queue-bytes", str(2**64)), "--queue-bytes: must be at most"),
    Case("token", ("{dir}", "--token", "short"), "the token must be at least 8 characters long"),
    Case("token", ("{dir}", "--token", "long-enough", "--token-file", "{file}"), "give --token or --token-file"),
    Case("token_file", ("{dir}", "--token-file", "/nonexistent/token"), "--token-file: cannot read"),
    Case("query_token", ("{dir}",), "LOGSTREAM_QUERY_TOKEN: expected true or false", {"LOGSTREAM_QUERY_TOKEN": "y?"}),
    Case("query_token", ("{dir}", "--query-token"), "--query-token needs --token or --token-file"),
    Case("cors_origin", ("{dir}", "--cors-origin", "ops.example.com"), "--cors-origin: expected an origin"),
    Case("max_connections", ("{dir}", "--max-connections", "0"), "--max-connections: must be at least 1"),
    Case("max_per_ip", ("{dir}", "--max-per-ip", "-1"), "--max-per-ip: must not be negative"),
    Case("max_per_ip", ("{dir}", "--max-per-ip", "10.0.0.1"), "--max-per-ip: expected int"),
    Case("write_timeout", ("{dir}", "--write-timeout", "0.5"), "--write-timeout: at least 1 second"),
    Case("write_timeout", ("{dir}", "--write-timeout", "1e12"), "--write-timeout: must be at most 86400"),
    Case("tls_cert", ("{dir}", "--tls-cert", "{cert}"), "--tls-cert and --tls-key go together"),
    Case("tls_cert", ("{dir}", "--tls-cert", "{file}", "--tls-key", "{key}"), "--tls-cert: {file} holds no PEM"),
    Case("tls_cert", ("{dir}", "--tls-cert", "{key}", "--tls-key", "{key}"), "--tls-cert: {key} holds no PEM"),
    Case("tls_cert", ("{dir}", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "{key}"), "cannot read"),
    Case("tls_key", ("{dir}", "--tls-key", "{key}"), "--tls-cert and --tls-key go together"),
    Case("tls_key", ("{dir}", "--tls-cert", "{cert}", "--tls-key", "{other_key}"), "is not the key of the certif"),
    Case("tls_key", ("{dir}", "--tls-cert", "{cert}", "--tls-key", "{file}"), "--tls-key: {file} holds no unencr"),
    Case("tls_key", ("{dir}", "--tls-cert", "{cert}", "--tls-key", "{encrypted_key}"), "holds no unencrypted"),
    Case("stdin_name", ("-", "--stdin-name", "logs/build.log"), "--stdin-name: expected a file name like build.log"),
    Case("stdin_name", ("-", "--stdin-name", ".."), "--stdin-name: expected a file name"),
    Case("stdin_name", ("{dir}", "--stdin-name", "build.log"), "--stdin-name is for standard input: give '-' as DIR"),
    Case("spool", ("-", "--spool", "/nonexistent/dir"), "--spool: /nonexistent/dir: not a directory"),
    Case("spool", ("demo", "--spool", "{dir}"), "--spool is for standard input"),
    Case("spool_max", ("-", "--spool-max", "1000"), "--spool-max: must be at least 1048576, got '1000'"),
    Case("spool_max", ("{dir}", "--spool-max", "2000000"), "--spool-max is for standard input"),
    Case("exit_on_eof", ("-",), "LOGSTREAM_EXIT_ON_EOF: expected true or false", {"LOGSTREAM_EXIT_ON_EOF": "y?"}),
    Case("exit_on_eof", ("{dir}", "--exit-on-eof"), "--exit-on-eof is for standard input"),
    Case("redis", ("-", "--redis", REDIS), "--redis serves the agents' files, not standard input"),
    Case("trusted_proxies", ("{dir}", "--trusted-proxies", "-1"), "--trusted-proxies: must not be negative"),
    Case("trusted_proxies", ("{dir}", "--trusted-proxies", "17"), "--trusted-proxies: must be at most 16, got '17'"),
    Case("trusted_proxies", ("{dir}",), "LOGSTREAM_TRUSTED_PROXIES: expected int, got 'yes'",
         {"LOGSTREAM_TRUSTED_PROXIES": "yes"}),
    Case("jwt_secret_file", ("{dir}", "--jwt-secret-file", "/nonexistent/secret"), "--jwt-secret-file: cannot read"),
    Case("jwt_secret_file", ("{dir}", "--jwt-secret-file", "{file}"), "the secret must be at least 32 bytes"),
    Case("jwt_secret_file", ("{dir}", "--jwt-secret-file", "{file}", "--jwt-public-key", "{file}"), "not both"),
    Case("jwt_public_key", ("{dir}", "--jwt-public-key", "{cert}"), "--jwt-public-key: {cert} holds no PEM public"),
    Case("jwt_audience", ("{dir}", "--jwt-audience", "logs"), "--jwt-audience and --jwt-issuer need --jwt-secret"),
    Case("jwt_issuer", ("{dir}",), "--jwt-audience and --jwt-issuer need", {"LOGSTREAM_JWT_ISSUER": "https://id"}),
    Case("user_header", ("{dir}", "--user-header", "X User"), "--user-header: expected a header name"),
    Case("groups_header", ("{dir}", "--groups-header", "X-Groups"), "--groups-header needs --user-header"),
    Case("scopes", ("{dir}", "--scopes", "{file}"), "--scopes maps a proxy's users: it needs --user-header"),
    Case("scopes", ("{dir}", "--user-header", "X-User", "--scopes", "/nonexistent/s.toml"), "--scopes: cannot read"),
    Case("sign_out_url", ("{dir}", "--sign-out-url", "javascript:alert(1)"), "--sign-out-url: expected a path"),
    Case("ops_token", ("{dir}", "--ops-token", "short"), "the ops token must be at least 8 characters long"),
    Case("redis", ("{dir}", "--redis", REDIS), "a web node with --redis serves the agents' files: give no DIR"),
    Case("redis", ("--redis", "http://x"), "--redis: expected redis://, rediss:// or unix:// URL"),
    Case("redis", ("agent", "{dir}"), "logstream agent: error: --redis URL (or LOGSTREAM_REDIS) is required"),
    Case("name", ("agent", "{dir}", "--redis", REDIS, "--name", "web/1"), "logstream agent: error: --name: expected"),
    Case("maxlen", ("agent", "{dir}", "--redis", REDIS, "--maxlen", "0"), "--maxlen: must be at least 1"),
    Case("log_level", ("{dir}", "--log-level", "verbose"), "--log-level: expected one of DEBUG, INFO, WARNING, ERROR"),
    Case("log_level", ("agent", "{dir}", "--redis", REDIS), "LOGSTREAM_LOG_LEVEL: expected one of",
         {"LOGSTREAM_LOG_LEVEL": "debug!"}),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Paths for the placeholders of CASES: a directory, a plain file, and PEM files."""
    tmp = tmp_path_factory.mktemp("settings")
    (tmp / "logs").mkdir()
    (tmp / "plain.txt").write_text("not a certificate, not a key\n")
    paths = {"dir": tmp / "logs", "file": tmp / "plain.txt"}
    openssl = shutil.which("openssl")
    if openssl is not None:
        for name in ("", "other_"):
            subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=x",
                            "-keyout", str(tmp / f"{name}key.pem"), "-out", str(tmp / f"{name}cert.pem")],
                           check=True, capture_output=True)
            paths[f"{name}key"] = tmp / f"{name}key.pem"
        paths["cert"] = tmp / "cert.pem"
        subprocess.run([openssl, "pkey", "-in", str(paths["key"]), "-aes256", "-passout", "pass:secret", "-out",
                        str(tmp / "encrypted.pem")], check=True, capture_output=True)
        paths["encrypted_key"] = tmp / "encrypted.pem"
    return {name: str(path) for name, path in paths.items()}


def fill(text: str, files: dict[str, str]) -> str:
    try:
        return text.format(**files)
    except KeyError:
        pytest.skip("the openssl command is needed to make test certificates")


@pytest.fixture
def nothing_starts(monkeypatch):
    """In-process runs: a case that passed the checks would fail here instead of serving."""
    def started(*args, **kwargs):
        raise AssertionError("the bad value was accepted")

    monkeypatch.setattr(server, "serve", started)
    monkeypatch.setattr(server, "setup_logging", lambda level: None)
    monkeypatch.setattr(agent.Agent, "run", started)
    for s in SETTINGS:
        monkeypatch.delenv(s.env, raising=False)
    return monkeypatch


def test_every_setting_has_bad_values_in_the_table():
    assert {case.setting for case in CASES} == {s.name for s in SETTINGS}


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c.args) + "".join(f" {k}={v}" for k, v in
                                                                                  c.env.items()))
def test_a_bad_value_is_one_line_and_exit_2(case, files, nothing_starts, capsys):
    for name, value in case.env.items():
        nothing_starts.setenv(name, value)
    status = cli.main([fill(arg, files) for arg in case.args])
    out, err = capsys.readouterr()
    assert status == 2
    assert fill(case.message, files) in err and err.count("\n") == 1 and err.startswith("logstream"), err
    assert out == ""


@pytest.mark.parametrize("args,message", [
    (("--port", "99999"), "logstream: error: --port: must be at most 65535, got '99999'"),
    (("--tls-cert", "{file}", "--tls-key", "{file}"), "logstream: error: --tls-cert: {file} holds no PEM certificate"),
])
def test_the_real_command_stops_before_serving(args, message, files):
    result = subprocess.run([sys.executable, "-m", "logstream", files["dir"], *(fill(a, files) for a in args)],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""  # no "serving ..." line
    assert result.stderr == fill(message, files) + "\n"


def test_an_address_it_cannot_listen_on_is_one_line_and_exit_1(files):
    # 192.0.2.0/24 is TEST-NET-1: never an address of this machine.
    result = subprocess.run([sys.executable, "-m", "logstream", files["dir"], "--host", "192.0.2.1", "--port", "0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith("logstream: error: cannot listen on 192.0.2.1:0: ")
    assert result.stderr.count("\n") == 1, result.stderr
