"""The command line: every flag documented with its variable; bad input is one
line on stderr and a non-zero exit, never a traceback."""

import argparse
import errno
import os
import socket
import subprocess
import sys

import pytest

from conftest import ROOT
from logstream import cli
from logstream.config import SETTINGS
from logstream.errors import ConfigError


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "logstream", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=30, env=env)


def test_help_documents_every_flag_with_its_environment_variable():
    out = run("--help").stdout
    for setting in SETTINGS:
        assert setting.flag in out
        assert setting.env in out


@pytest.mark.parametrize("args,message", [
    (("/nonexistent/dir",), "not a directory"),
    ((".", "--port", "abc"), "expected int"),
    ((".", "--heartbeat", "-1"), "must not be negative"),
    ((), "no log directory"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run(str(tmp_path), "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "in use" in result.stderr.lower()


# -- one error path for every subcommand: serve, demo, agent ----------------------------------------------------

REDIS = "redis://127.0.0.1:1/0"  # never connected to: each case fails before


@pytest.mark.parametrize("args,line", [
    (("agent", "."), "logstream agent: error: --redis URL (or LOGSTREAM_REDIS) is required"),
    (("agent", "--redis", REDIS), "logstream agent: error: no log directory given"),
    (("agent", "/nonexistent/dir", "--redis", REDIS), "logstream agent: error: /nonexistent/dir: not a directory"),
    (("agent", ".", "--redis", REDIS, "--log-level", "LOUD"), "logstream agent: error: --log-level: expected one of"),
    (("demo", "--port", "abc"), "logstream: error: --port: expected int"),
    ((".", "--log-level", "LOUD"), "logstream: error: --log-level: expected one of"),
])
def test_every_subcommand_reports_bad_input_in_one_line_and_exit_2(args, line):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("args", [("agent", "{dir}", "--redis", REDIS), ("{dir}", "--port", "0")],
                         ids=["agent", "serve"])
def test_an_os_error_after_start_is_one_line_and_exit_1(args, tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    # Standard output on a full disk: the start-up line cannot be written.
    args = [arg.format(dir=tmp_path) for arg in args]
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "logstream", *args], cwd=ROOT, stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=30)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: No space left on device" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("raised,status,stderr", [
    (ConfigError("bad setting"), 2, "logstream: error: bad setting\n"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/x"), 1,
     "logstream: error: /x: No such file or directory\n"),
    (OSError(errno.EADDRINUSE, "127.0.0.1:8080 is already in use"), 1,
     "logstream: error: 127.0.0.1:8080 is already in use\n"),
    (KeyboardInterrupt(), 130, ""),
])
def test_run_turns_what_a_subcommand_raises_into_one_line_and_a_status(raised, status, stderr, capsys):
    def command(args):
        raise raised

    assert cli.run(command, argparse.Namespace()) == status
    assert capsys.readouterr().err == stderr
