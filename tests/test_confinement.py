"""Nothing outside the served directory is listed, streamed or downloaded, and no
path can make the server hang (attacks over real HTTP)."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, Server, append
from logstream import paths
from logstream.errors import NotFound, PathRejected

SECRET = "TOP-SECRET-OUTSIDE"


@pytest.fixture(scope="module")
def jail(tmp_path_factory):
    """A log dir with an outside secret next to it and hostile links inside."""
    tmp_path = tmp_path_factory.mktemp("jail")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.log").write_text(SECRET + "\n")
    root = tmp_path / "logs"
    (root / "sub").mkdir(parents=True)
    append(root / "app.log", "inside")
    append(root / "sub" / "inner.log", "inner")
    os.symlink(outside / "secret.log", root / "escape.log")
    os.symlink(outside, root / "escape-dir")
    os.symlink("/etc/passwd", root / "passwd.log")
    os.symlink(root / "app.log", root / "alias.log")  # inside → inside: allowed
    os.symlink("/dev/zero", root / "zero.log")
    os.mkfifo(root / "pipe.log")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(root / "sock.log"))
    srv = Server(root, ("--heartbeat", "1"))
    yield srv
    srv.stop()
    unix.close()


ATTACKS = [
    "../outside/secret.log",
    "..%2foutside%2fsecret.log",
    "%2e%2e/outside/secret.log",
    "%2E%2E%2Foutside%2Fsecret.log",
    "sub/../../outside/secret.log",
    "sub/%2e%2e/%2e%2e/outside/secret.log",
    "..%5coutside%5csecret.log",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "app.log%00.txt",
    "escape.log",
    "escape-dir/secret.log",
    "passwd.log",
    "zero.log",
    "pipe.log",
    "sock.log",
    "sub",
    "",
]


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("route", ["/api/stream/{}?lines=5", "/api/download/{}", "/api/stream?path={}",
                                   "/api/stream?path=app.log&path={}", "/api/search/{}?q=."])
def test_path_attack_is_refused_without_content(jail, route, attack):
    status, headers, body = jail.get(route.format(attack), timeout=5)
    assert status in (400, 403, 404), (status, body[:200])
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]
    assert SECRET.encode() not in body and b"root:" not in body


def test_listing_shows_only_regular_files_inside(jail):
    status, body = jail.json("/api/files")
    listed = {f["path"] for f in body["files"]}
    assert {"alias.log", "app.log", "sub/inner.log"} <= listed
    assert not listed & {"escape.log", "escape-dir/secret.log", "passwd.log", "zero.log", "pipe.log", "sock.log"}
    assert SECRET not in json.dumps(body)


def test_symlink_to_a_file_inside_is_followed(jail):
    s = jail.stream("/api/stream/alias.log")
    assert s.wait_lines(1) == ["inside"]


def test_symlink_retargeted_outside_mid_stream_is_not_followed(jail):
    root = jail.root
    append(root / "sub" / "current.log", "first")
    os.symlink(root / "sub" / "current.log", root / "sub" / "link.log")
    s = jail.stream("/api/stream/sub/link.log")
    s.wait_lines(1)
    os.unlink(root / "sub" / "link.log")
    os.symlink(root.parent / "outside" / "secret.log", root / "sub" / "link.log")
    s.read_until(lambda c: c.of_type("deleted"), message="the stream to stop following")
    s.read_some(1.5)
    assert SECRET not in bytes(s.raw).decode()
    assert "outside" in json.loads(s.of_type("deleted")[0].data)["reason"]


def _as_nobody() -> tuple[str, ...]:
    """A prefix that runs a command as nobody (as root every file is readable)."""
    if os.geteuid() != 0:
        return ()
    prefix = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    if subprocess.run([*prefix, sys.executable, "-c", f"import os; os.listdir({str(ROOT)!r})"],
                      capture_output=True).returncode != 0:
        pytest.skip("the project tree is not readable by 'nobody' on this machine")
    return prefix


def test_file_that_becomes_unreadable_gets_an_error_event_and_the_stream_lives_on():
    tmp_path = Path(tempfile.mkdtemp(prefix="logstream-nobody-"))
    sub = tmp_path / "logs" / "sub"
    sub.mkdir(parents=True)
    append(sub / "app.log", "before")
    for p in (tmp_path, tmp_path / "logs", sub, sub / "app.log"):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    srv = Server(tmp_path / "logs", ("--heartbeat", "1", "--poll-interval", "0.2"), launcher=_as_nobody())
    try:
        s = srv.stream("/api/stream/sub/app.log")
        s.wait_lines(1)
        os.chmod(sub, 0)  # the server can no longer look at the file
        s.read_until(lambda c: c.of_type("error"), message="an error event")
        assert "cannot check sub/app.log" in json.loads(s.of_type("error")[0].data)["reason"]
        os.chmod(sub, 0o755)
        append(sub / "app.log", "after")
        assert s.wait_lines(2) == ["before", "after"]
    finally:
        os.chmod(sub, 0o755)
        srv.stop()
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_unreadable_file_is_listed_as_such_and_refused():
    """As root every file is readable, so this runs the server as nobody, on a
    directory nobody can reach (pytest's own temp dir is private to root)."""
    tmp_path = Path(tempfile.mkdtemp(prefix="logstream-nobody-"))
    root = tmp_path / "logs"
    root.mkdir()
    append(root / "ok.log", "fine")
    append(root / "locked.log", "private")
    os.chmod(root / "locked.log", 0)
    for p in (tmp_path, root, root / "ok.log"):
        os.chmod(p, os.stat(p).st_mode | stat.S_IROTH | stat.S_IXOTH)
    srv = Server(root, ("--heartbeat", "1"), launcher=_as_nobody())
    try:
        status, body = srv.json("/api/files")
        assert {f["path"]: f.get("readable", True) for f in body["files"]} == {"locked.log": False, "ok.log": True}
        status, body = srv.json("/api/stream/locked.log")
        assert status == 403 and "not readable" in body["error"]
        assert srv.stream("/api/stream/ok.log").wait_lines(1) == ["fine"]
    finally:
        srv.stop()
        shutil.rmtree(tmp_path, ignore_errors=True)


# -- the one gate, as a property ---------------------------------------------------------
segments = st.sampled_from(["..", ".", "sub", "app.log", "escape.log", "escape-dir", "%2e", "", "a\0b", "/",
                            "\\", "..\\..", "～", "sub/..", "\u2024\u2024"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(segments, min_size=1, max_size=6))
def test_resolution_never_opens_anything_outside(parts, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "prop"
    root = base / "logs"
    if not root.exists():
        (root / "sub").mkdir(parents=True)
        (root / "app.log").write_text("x\n")
        (base / "secret.log").write_text("s\n")
        os.symlink(base / "secret.log", root / "escape.log")
        os.symlink(base, root / "escape-dir")
    rel = "/".join(parts)
    try:
        fd, _ = paths.open_file(root.resolve(), rel)
    except (PathRejected, NotFound):
        return
    try:
        real = Path(os.readlink(f"/proc/self/fd/{fd}"))
        assert real.is_relative_to(root.resolve()), (rel, real)
    finally:
        os.close(fd)
