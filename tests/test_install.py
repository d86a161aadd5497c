"""Installed like any Python tool: the wheel that ``python -m build`` makes,
installed into a fresh virtual environment outside the checkout, gives a
``logstream`` command that serves the viewer (carried inside the package) and live
streams, and a ``logstream.wsgi:app`` gunicorn serves."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, Server, append, gunicorn_streams_a_line
from logstream import __version__

# Only what a user's shell would have: nothing that points back at the checkout.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build and the backend pinned in requirements-dev.txt (./run.sh test installs them), no download.
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
                            str(ROOT)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (path,) = out.glob("logstream-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv (outside the checkout) with the wheel and its extra for gunicorn; its bin directory."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=CLEAN_ENV)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                          f"{wheel}[gunicorn]"], capture_output=True, text=True, timeout=300, env=CLEAN_ENV)
    assert pip.returncode == 0, pip.stderr[-2000:]
    return venv / "bin"


def test_the_wheel_carries_the_viewer_licence_and_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(f"logstream-{__version__}.dist-info/METADATA").decode()
        entry_points = z.read(f"logstream-{__version__}.dist-info/entry_points.txt").decode()
    viewer = {p.name for p in (ROOT / "web").iterdir() if p.is_file()}
    assert {f"logstream/web/{name}" for name in viewer} <= names
    assert f"logstream-{__version__}.dist-info/licenses/LICENSE" in names
    assert "logstream = logstream.entry:main" in entry_points
    assert f"Version: {__version__}" in meta
    assert "Requires-Dist: flask<4,>=3.1" in meta
    assert "Project-URL: " in meta
    assert "Description-Content-Type: text/markdown" in meta
    assert meta.split("\n\n", 1)[1].startswith("# logstream")  # the README is the long description


def test_installed_command_prints_its_version_and_help(installed, tmp_path):
    version = subprocess.run([str(installed / "logstream"), "--version"], cwd=tmp_path, env=CLEAN_ENV,
                             capture_output=True, text=True, timeout=30)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"logstream {__version__}"
    help_ = subprocess.run([str(installed / "logstream"), "--help"], cwd=tmp_path, env=CLEAN_ENV,
                           capture_output=True, text=True, timeout=30)
    assert help_.returncode == 0, help_.stderr
    assert help_.stdout.startswith("usage: logstream")
    for flag in ("--port", "--stdin-name", "--spool-max", "--exit-on-eof", "--redis", "--maxlen"):
        assert flag in help_.stdout
    agent = subprocess.run([str(installed / "logstream"), "agent", "--help"], cwd=tmp_path, env=CLEAN_ENV,
                           capture_output=True, text=True, timeout=30)
    assert agent.returncode == 0 and "--redis" in agent.stdout


def test_installed_command_serves_the_viewer_and_live_lines(installed, tmp_path):
    root = tmp_path / "logs"
    root.mkdir()
    append(root / "app.log", "before")
    where = subprocess.run([str(installed / "python"), "-c", "from logstream.api import ops; print(ops.WEB)"],
                           cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True, timeout=30)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)  # the package's copy, not web/ here
    srv = Server(root, ("--heartbeat", "1"), program=(str(installed / "logstream"),), cwd=tmp_path,
                 env={"PYTHONPATH": ""})
    try:
        status, headers, body = srv.get("/")
        assert status == 200
        assert body == (ROOT / "web" / "index.html").read_bytes()
        status, _, body = srv.get("/app.js")
        assert status == 200 and body == (ROOT / "web" / "app.js").read_bytes()
        s = srv.stream("/api/stream/app.log")
        assert s.wait_lines(1) == ["before"]
        append(root / "app.log", "live from the installed command")
        assert s.wait_lines(2)[-1] == "live from the installed command"
    finally:
        srv.stop()


def test_gunicorn_serves_the_installed_wsgi_app(installed, tmp_path):
    root = tmp_path / "logs"
    root.mkdir()
    append(root / "app.log", "start")
    gunicorn_streams_a_line([str(installed / "gunicorn")], "logstream.wsgi:app", root, cwd=tmp_path, env=CLEAN_ENV,
                            errors=tmp_path / "gunicorn.err")
