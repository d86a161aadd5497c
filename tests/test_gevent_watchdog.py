"""gevent and watchdog together: lines arrive through inotify (not the safety-net
poll), under ``python -m logstream`` and under gunicorn's gevent worker, whose full
``patch_all()`` would otherwise leave watchdog's observer dead and silent."""

import os
import subprocess
import sys

from conftest import ROOT, SSEClient, append, free_port, wait_for

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


def test_gunicorn_gevent_worker_streams_through_inotify(logdir, tmp_path):
    append(logdir / "app.log", "start")
    port = free_port()
    env = {**os.environ, "LOGSTREAM_ROOT": str(logdir), "LOGSTREAM_POLL_INTERVAL": "3600",
           "LOGSTREAM_HEARTBEAT": "1"}
    err = open(tmp_path / "gunicorn.err", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1", "--worker-connections",
                             "100", "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=err)
    try:
        def connect():
            try:
                return SSEClient(port, "/api/stream/app.log", None, 10)
            except OSError:
                return None

        s = wait_for(connect, timeout=20, interval=0.1, message="gunicorn to accept")
        s.wait_lines(1)
        append(logdir / "app.log", "under gunicorn")
        assert s.wait_lines(2, timeout=5)[-1] == "under gunicorn"
        s.close()
    finally:
        proc.terminate()
        proc.wait(10)
        err.close()
    assert b"Traceback" not in (tmp_path / "gunicorn.err").read_bytes()
