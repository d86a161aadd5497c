"""gevent and watchdog together: lines arrive through inotify (not the safety-net
poll), under ``python -m logstream`` and under gunicorn's gevent worker (the
checkout's ``wsgi:app`` and the package's ``logstream.wsgi:app``), whose full
``patch_all()`` would otherwise leave watchdog's observer dead and silent."""

import os
import sys

import pytest

from conftest import ROOT, append, gunicorn_streams_a_line

NO_POLL = ("--poll-interval", "3600")  # only inotify can deliver within the test's deadline


def test_appended_line_arrives_through_inotify(logserver, logdir):
    append(logdir / "app.log", "start")
    srv = logserver(logdir, *NO_POLL)
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    append(logdir / "app.log", "via inotify")
    assert s.wait_lines(2, timeout=5)[-1] == "via inotify"
    append(logdir / "new.log", "a new file")
    n = srv.stream("/api/stream/new.log")
    assert n.wait_lines(1) == ["a new file"]


@pytest.mark.parametrize("target", ["wsgi:app", "logstream.wsgi:app"])
def test_gunicorn_gevent_worker_streams_through_inotify(logdir, tmp_path, target):
    append(logdir / "app.log", "start")
    gunicorn_streams_a_line([sys.executable, "-m", "gunicorn"], target, logdir, cwd=ROOT, env=dict(os.environ),
                            errors=tmp_path / "gunicorn.err")
