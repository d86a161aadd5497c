"""A file search runs in a process of its own (logstream.scan_process, scan_child),
checked from the outside through /proc: at a lower priority, holding none of
the server's descriptors but the history's and its socket, at most
MAX_PROCESSES at a time, and never outliving its client, a SIGTERM or a
killed server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from logstream.scan_child import NICE
from logstream.scan_process import MAX_PROCESSES
from tests.conftest import ROOT, Server, SSEClient, gunicorn_worker, metrics, wait_for

HITS = 100_000  # the most a search sends
LINES = HITS - 2  # all matching: ~10 MB of events, far more than socket buffers hold


def children(pid: int, zombies: bool = False) -> list[int]:
    """The live processes whose parent is ``pid`` (and the zombies: ended, not reaped)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[1]) == pid and (zombies or fields[0] != "Z"):
            found.append(int(entry))
    return found


def scan_process(pid: int) -> int:
    """The one search process of server ``pid``, once it is set up (named last)."""
    wait_for(lambda: len(children(pid)) == 1, message="the search's process")
    child = children(pid)[0]
    wait_for(lambda: _comm(child) == "logstream-scan", message="the search's process to be set up")
    return child


def nice(pid: int | str) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def descriptors(pid: int, above: int = 2) -> list[str]:
    """What each descriptor above ``above`` (stderr) of ``pid`` is (a path, or ``socket:[inode]``)."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if int(fd) > above:
            try:
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    return out


def write_history(logdir):
    with open(logdir / "app.log.1", "w") as f:
        f.write("ERROR rotated line of some length\n" * (LINES // 2))
    with open(logdir / "app.log", "w") as f:
        f.write("ERROR current line of some length\n" * (LINES // 2))


def stalled_search(server):
    """A search with every line a hit whose client reads nothing: the server's
    writes stall, then the process's, so it stays alive to be looked at."""
    client = server.stream(f"/api/search/app.log?q=ERROR&limit={HITS}", rcvbuf=4096)
    assert client.status == 200, client.raw
    return client


def test_the_scan_runs_in_a_lower_priority_process_that_holds_only_the_history(server, logdir):
    write_history(logdir)
    client = stalled_search(server)
    pid = server.proc.pid
    child = scan_process(pid)
    assert nice(child) == min(19, nice(pid) + NICE)
    held = descriptors(child)
    # Its socket to the server, and the history: not the listening socket, not
    # the client's connection, not any other file the server has open.
    assert sum(d.startswith("socket:") for d in held) == 1, held
    assert sorted(d for d in held if not d.startswith("socket:")) == [str(logdir / "app.log"),
                                                                      str(logdir / "app.log.1")]
    client.close()
    wait_for(lambda: not children(pid, zombies=True), message="the process to be stopped and reaped")


def threads(pid: int) -> dict[int, int]:
    """Each thread of ``pid``: its nice value."""
    return {int(tid): nice(f"{pid}/task/{tid}") for tid in os.listdir(f"/proc/{pid}/task")}


def test_the_scanning_threads_are_kept_for_the_whole_search_and_all_lowered(server, logdir):
    # A thread per block would start each block level with the live streams'
    # tasks and escape the nice value (docs/benchmarks.md, "30 Nov, evening").
    write_history(logdir)
    client = stalled_search(server)
    child = scan_process(server.proc.pid)
    wait_for(lambda: len(threads(child)) == 3, message="the main thread and two scanners")
    first = threads(child)
    assert set(first.values()) == {min(19, nice(server.proc.pid) + NICE)}, first
    for _ in range(3):  # read on: blocks are scanned meanwhile, by the same threads
        seen = len(client.events)
        client.read_until(lambda c, seen=seen: len(c.events) > seen + 1000, message="more hits")
        assert threads(child) == first
    client.close()


def test_a_server_started_with_stdin_and_stderr_closed_gives_its_search_process_none_of_its_files(logdir):
    # Started so (a daemon's launcher), the server's own files take descriptors 0
    # and 2 (the hub's epoll, its eventfd, a socket): the process must not keep them.
    write_history(logdir)
    server = Server(logdir, (), launcher=("sh", "-c", 'exec "$@" 0<&- 2>&-', "sh"))
    try:
        assert not {os.readlink(f"/proc/{server.proc.pid}/fd/{fd}") for fd in (0, 2)} & {"/dev/null"}
        stalled_search(server)
        held = descriptors(scan_process(server.proc.pid), above=-1)
        assert sum(d.startswith("socket:") for d in held) == 1, held
        assert not [d for d in held if d.startswith("anon_inode:")], held
    finally:
        server.stop()


NOBODY = 65534


def _tasks_of(uid: int) -> int:
    """Threads of every process of ``uid``: what RLIMIT_NPROC counts."""
    count = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(status["Uid"].split()[0]) == uid:
            count += int(status["Threads"])
    return count


def _nobody_runs_python() -> bool:
    """Whether nobody may start this interpreter, as the server does for each
    search (it may not under a home directory of mode 700, such as pyenv's in /root)."""
    if os.geteuid() != 0 or not (shutil.which("setpriv") and shutil.which("prlimit")):
        return False
    probe = "import os, sys; os.execv(sys.executable, [sys.executable, '-c', ''])"
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable,
                           "-c", probe], capture_output=True).returncode == 0


@pytest.mark.skipif(not _nobody_runs_python(),
                    reason="runs the server as nobody under a process limit (root, util-linux, an interpreter "
                           "nobody may run)")
def test_a_search_under_a_process_limit_scans_without_threads_or_says_it_could_not_start():
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's directories are root's alone
    try:
        os.chmod(base, 0o755)
        logs = base / "logs"
        logs.mkdir()
        (logs / "app.log").write_text("".join(f"ERROR line {i}\n" for i in range(1000)))
        os.chmod(logs / "app.log", 0o644)
        as_nobody = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
        path = "/api/search/app.log?q=ERROR&limit=5000"

        def search(server) -> dict:
            client = server.stream(path)
            client.read_until(lambda c: c.of_type("done"), message="done")
            return json.loads(client.of_type("done")[0].data)

        server = Server(logs, (), launcher=as_nobody)
        try:
            assert search(server)["complete"]
            tasks = _tasks_of(NOBODY)  # the server's threads, all it may have below
        finally:
            server.stop()
        # One task more: the search process, but none of its threads.
        server = Server(logs, (), launcher=("prlimit", f"--nproc={tasks + 1}", *as_nobody))
        try:
            done = search(server)
            assert done["complete"] and done["hits"] == 1000 and "error" not in done, done
        finally:
            server.stop()
        assert "Traceback" not in server.stderr()
        # None more: no search process (posix_spawn: EAGAIN). Said, and the turn given back.
        server = Server(logs, (), launcher=("prlimit", f"--nproc={tasks}", *as_nobody))
        try:
            for _ in range(MAX_PROCESSES + 1):
                done = search(server)
                assert done["error"] == "the search could not start: Resource temporarily unavailable", done
                assert not done["complete"] and done["hits"] == 0, done
        finally:
            server.stop()
    finally:
        shutil.rmtree(base)


def all_turns_taken(server, logdir):
    """``MAX_PROCESSES`` stalled searches, each with its process, and one more
    (``late``) that must wait for a turn."""
    write_history(logdir)
    clients = [stalled_search(server) for _ in range(MAX_PROCESSES)]
    wait_for(lambda: len(children(server.proc.pid)) == MAX_PROCESSES, message="a process per search")
    return clients, stalled_search(server)


def test_searches_past_the_process_limit_wait_their_turn_and_all_finish(server, logdir):
    pid = server.proc.pid
    clients, late = all_turns_taken(server, logdir)
    late.read_until(lambda c: c.of_type("progress"), message="the first progress of the one waiting")
    assert len(children(pid)) == MAX_PROCESSES  # it waits for a turn: no process yet
    for client in [*clients, late]:
        client.read_until(lambda c: c.of_type("done"), timeout=60, message="done")
        done = json.loads(client.of_type("done")[0].data)
        assert done["hits"] == LINES and done["complete"], done
        assert len(client.of_type("hit")) == LINES
        client.close()
    wait_for(lambda: not children(pid), message="every process ended")


def test_a_search_waiting_for_its_turn_sends_progress_and_notices_its_client_leave(server, logdir):
    pid = server.proc.pid
    clients, late = all_turns_taken(server, logdir)
    # The contract: progress at least every 250 ms, waiting for a turn too.
    late.read_until(lambda c: len(c.of_type("progress")) >= 3, message="progress while waiting for a turn")
    assert len(children(pid)) == MAX_PROCESSES and not late.of_type("hit")
    late.close()
    wait_for(lambda: metrics(server)["logstream_searches"] == MAX_PROCESSES,
             message="the search that waited to end when its client hung up")
    for client in clients:
        client.close()
    wait_for(lambda: not children(pid), message="every process ended")


def test_a_search_process_that_sends_nothing_for_a_while_still_gives_progress(server, logdir):
    write_history(logdir)
    client = server.stream(f"/api/search/app.log?q=ERROR&limit={HITS}")
    pid = server.proc.pid
    wait_for(lambda: len(children(pid)) == 1, message="the search's process")
    child = children(pid)[0]
    os.kill(child, signal.SIGSTOP)  # as a block read from a stalled disk would hold it
    try:
        def stalled(c) -> bool:  # its last events: progress without news, three times
            last = c.events[-3:]
            return len(last) == 3 and {e.type for e in last} == {"progress"} and len({e.data for e in last}) == 1

        client.read_until(stalled, message="progress while the process sends nothing")
    finally:
        os.kill(child, signal.SIGCONT)
    client.read_until(lambda c: c.of_type("done"), timeout=60, message="done")
    done = json.loads(client.of_type("done")[0].data)
    assert done["hits"] == LINES == len(client.of_type("hit")) and done["complete"], done


def test_a_search_process_killed_midway_ends_with_done_counting_the_hits_sent(server, logdir):
    write_history(logdir)
    client = stalled_search(server)
    pid = server.proc.pid
    wait_for(lambda: len(children(pid)) == 1, message="the search's process")
    client.read_until(lambda c: c.of_type("hit"), message="a first hit")
    os.kill(children(pid)[0], signal.SIGKILL)  # as the OOM killer would
    client.read_until(lambda c: c.of_type("done"), timeout=60, message="done")
    done = json.loads(client.of_type("done")[0].data)
    assert done["error"] == "the search failed (its process ended early)" and not done["complete"], done
    assert 0 < done["hits"] == len(client.of_type("hit")) < LINES, done
    assert "Traceback" not in server.stderr()


def test_a_search_process_under_gunicorn_runs_none_of_the_workers_signal_handlers_and_is_reaped(logdir, tmp_path):
    write_history(logdir)
    errors = tmp_path / "gunicorn.err"
    with gunicorn_worker([sys.executable, "-m", "gunicorn"], "logstream.wsgi:app", logdir, cwd=ROOT,
                         env=dict(os.environ), errors=errors) as (port, worker):
        client = SSEClient(port, f"/api/search/app.log?q=ERROR&limit={HITS}", None, 10, rcvbuf=4096)
        child = scan_process(worker)
        # A terminal's resize (SIGWINCH) reaches its whole process group. gunicorn's
        # worker handles it (and SIGABRT, SIGUSR1...) in Python, writing to a wakeup
        # pipe: the search process must not run those handlers.
        os.kill(child, signal.SIGWINCH)
        client.read_until(lambda c: c.of_type("done"), timeout=60, message="done")
        done = json.loads(client.of_type("done")[0].data)
        assert done["hits"] == LINES and done["complete"], done
        client.close()
        wait_for(lambda: not children(worker, zombies=True), message="the process reaped by the worker")
    err = errors.read_text()
    assert "Traceback" not in err and "wakeup" not in err, err


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "gone"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_server_leaves_no_search_process(logserver, logdir, sig):
    write_history(logdir)
    server = logserver(logdir)
    stalled_search(server)
    pid = server.proc.pid
    wait_for(lambda: len(children(pid)) == 1, message="the search's process")
    child = children(pid)[0]
    code = server.stop(sig)
    assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    # Killed outright, the server cannot stop it: its next write fails (EPIPE) and it exits.
    wait_for(lambda: _state(child) in ("gone", "Z"), message=f"the search's process to end after {sig.name}")


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_ctrl_c_reaching_the_search_process_ends_it_without_a_traceback(server, logdir):
    # A terminal's Ctrl-C goes to the foreground process group: the server and
    # its search processes. The search ends (done with an error), quietly.
    write_history(logdir)
    client = stalled_search(server)
    child = scan_process(server.proc.pid)
    client.read_until(lambda c: c.of_type("hit"), message="a first hit")
    os.kill(child, signal.SIGINT)
    client.read_until(lambda c: c.of_type("done"), timeout=60, message="done")
    done = json.loads(client.of_type("done")[0].data)
    assert done["error"] == "the search failed (its process ended early)" and not done["complete"], done
    assert "Traceback" not in server.stderr() and "KeyboardInterrupt" not in server.stderr(), server.stderr()


def searches_and_stops(server) -> None:
    """A search of ``write_history``'s files finds what it asks for; then the server is stopped."""
    try:
        client = server.stream("/api/search/app.log?q=rotated&limit=10")
        client.read_until(lambda c: c.of_type("done"), timeout=60, message="done")
        done = json.loads(client.of_type("done")[0].data)
        assert done["hits"] == 10 and "error" not in done, done
    finally:
        server.stop()


def test_a_search_process_imports_nothing_from_the_servers_working_directory(logdir, tmp_path):
    # An installed command (or python -P) never puts its working directory on
    # sys.path: neither may the search process, or a queue.py there would run.
    write_history(logdir)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "queue.py").write_text("raise ImportError('the queue.py of the working directory')\n")
    server = Server(logdir, (), program=(sys.executable, "-P", "-m", "logstream"), cwd=cwd,
                    env={"PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))})
    searches_and_stops(server)
    assert "working directory" not in server.stderr(), server.stderr()


def test_a_search_whose_interpreter_is_gone_says_it_could_not_start_and_gives_its_turn_back(logdir, tmp_path):
    # The interpreter the server runs (its sys.executable) removed or replaced
    # since (an upgrade, a venv rebuilt): each search ends at once, saying so.
    (logdir / "app.log").write_text("ERROR one\n")
    python = tmp_path / "python"
    python.symlink_to(sys.executable)
    paths = [str(ROOT), *site.getsitepackages(), os.environ.get("PYTHONPATH")]
    server = Server(logdir, (), program=(str(python), "-m", "logstream"),
                    env={"PYTHONPATH": os.pathsep.join(filter(None, paths))})
    try:
        python.unlink()
        for _ in range(MAX_PROCESSES + 1):  # past the turns: each one was given back
            client = server.stream("/api/search/app.log?q=ERROR")
            client.read_until(lambda c: c.of_type("done"), message="done")
            done = json.loads(client.of_type("done")[0].data)
            assert done["error"] == "the search could not start: No such file or directory", done
            assert not done["complete"] and done["hits"] == 0, done
    finally:
        server.stop()
    assert "Traceback" not in server.stderr()


def test_an_installed_package_s_search_process_keeps_the_standard_library_first(logdir, tmp_path):
    # Installed, the package's parent is site-packages. On PYTHONPATH it would
    # come before the standard library, and a module there named as one of it
    # (enum34's enum, the pathlib backport; a queue.py here) would be imported
    # by every search.
    write_history(logdir)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (installed,) = venv.glob("lib/python*/site-packages")
    (installed / "logstream").symlink_to(ROOT / "logstream")  # as a wheel would install it
    (installed / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")  # after the package
    (installed / "queue.py").write_text("raise ImportError('a queue.py of site-packages')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    server = Server(logdir, (), program=(str(venv / "bin" / "python"), "-m", "logstream"), cwd=tmp_path, env=env)
    searches_and_stops(server)
    assert "site-packages" not in server.stderr(), server.stderr()


def test_a_search_stopped_by_its_limit_leaves_nothing_in_the_server_log(server, logdir):
    # The limit ends the scan while the next blocks are still being scanned: the
    # process exits without waiting for them, and without the interpreter's
    # shutdown killing its threads in RE2 (C++'s "terminate called" in the log).
    with open(logdir / "app.log", "w") as f:  # 33 MB, a 5xx every 300 lines: blocks have grown when the limit ends it
        for i in range(300_000):
            status = 503 if i % 300 == 0 else 200
            f.write(f"2026-11-30T04:00:00.{i % 1000:03d}Z INFO [web-{i % 4}] user{i % 97} GET /api/items "
                    f"status={status} took {i % 3000} ms\n")
    for _ in range(10):  # the abort needs a thread inside RE2 at that moment: 2 runs of this test in 3 saw it
        client = server.stream("/api/search/app.log?q=status%3D50%5B03%5D&limit=100")
        client.read_until(lambda c: c.of_type("done"), message="done")
        assert json.loads(client.of_type("done")[0].data)["hits"] == 100
        client.close()
    wait_for(lambda: not children(server.proc.pid, zombies=True), message="every process ended")
    log = server.stderr()
    assert "terminate called" not in log and "Traceback" not in log, log
