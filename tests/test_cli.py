"""The command line: every flag documented with its variable; bad input is one
line on stderr and a non-zero exit, never a traceback."""

import socket
import subprocess
import sys

import pytest

from conftest import ROOT
from logstream.config import SETTINGS


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
