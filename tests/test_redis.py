"""Scale-out on Redis Streams, against a real ``redis-server`` started here (never
a system service, never a fake): agents ship every line exactly once, across their
own SIGKILL and Redis restarts; web nodes serve every host's files with Redis
entry ids, so a client resumes on any node with no gap and no duplicate."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from conftest import ROOT, Server, append, free_port, metrics, wait_for
from logstream.redis_schema import masked

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None,
                                reason="redis-server is not installed (./run.sh test installs it)")


class RedisServer:
    """A throw-away redis-server on a loopback port, persistence off."""

    def __init__(self, workdir: Path, *extra: str, password: str | None = None, tls_port: int | None = None) -> None:
        self.workdir = workdir
        self.port = 0 if tls_port else free_port()
        self.tls_port = tls_port
        self.password = password
        self.extra = list(extra)
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(self.workdir), *self.extra]
        if self.password:
            cmd += ["--requirepass", self.password]
        if self.tls_port:
            cmd += ["--tls-port", str(self.tls_port)]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.workdir / "redis.log", "ab")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT)
        if not self.tls_port:
            wait_for(self._pings, 10, message="redis-server to answer PING")
        else:
            wait_for(lambda: b"Ready to accept" in (self.workdir / "redis.log").read_bytes(), 10,
                     message="redis-server (TLS) to start")

    def _pings(self) -> bool:
        try:
            with self.client() as r:
                return r.ping()
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, decode_responses=True)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
            self.log.close()


class Agent:
    """``python -m logstream agent DIR --redis URL --name NAME`` as a process."""

    def __init__(self, root: Path, url: str, name: str, *args: str) -> None:
        self.root, self.url, self.name, self.args = root, url, name, args
        self.stderr_path = root.parent / f"agent-{name}.stderr"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        cmd = [sys.executable, "-m", "logstream", "agent", str(self.root), "--redis", self.url, "--name", self.name,
               *self.args]
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        line = self.proc.stdout.readline().decode()
        assert "shipping" in line, f"agent did not start: {line!r} {self.stderr()}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()
        self.proc = None


class WebNode(Server):
    """``python -m logstream --redis URL``: no directory of its own."""

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        cmd = [sys.executable, "-m", "logstream", "--port", str(self.port), "--host", "127.0.0.1", *self.args]
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        line = self.proc.stdout.readline().decode()
        if "serving" not in line:
            raise RuntimeError(f"web node did not start: {line!r} {self.stderr()}")
        self.port = int(line.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def scale(tmp_path, redis_server):
    """Factory for agents (``scale.agent(name)``: a directory of its own) and web nodes."""

    class Scale:
        def __init__(self) -> None:
            self.agents: list[Agent] = []
            self.nodes: list[WebNode] = []
            self.redis = redis_server

        def agent(self, name: str, *args: str, url: str | None = None) -> Agent:
            root = tmp_path / name
            root.mkdir(exist_ok=True)
            agent = Agent(root, url or redis_server.url, name, *args)
            self.agents.append(agent)
            return agent

        def node(self, *args: str, url: str | None = None) -> WebNode:
            node = WebNode(tmp_path / "web", ("--redis", url or redis_server.url, "--heartbeat", "1", *args))
            self.nodes.append(node)
            return node

    (tmp_path / "web").mkdir()
    scale = Scale()
    yield scale
    for node in scale.nodes:
        node.stop()
    for agent in scale.agents:
        agent.stop()


def entries(r: redis.Redis, host: str, rel: str) -> list[tuple[str, dict]]:
    return r.xrange(f"logstream:stream:{host}:{rel}")


def stream_lines(r, host, rel) -> list[str]:
    return [f["l"] for _, f in entries(r, host, rel) if "l" in f]


class Writer(threading.Thread):
    """Appends numbered lines ``<tag> <n>`` to files at a steady rate, in small writes."""

    def __init__(self, paths: list[Path], rate: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.paths, self.rate, self.seconds = paths, rate, seconds
        self.written = dict.fromkeys(paths, 0)

    def run(self) -> None:
        start = time.monotonic()
        tick = 0.01
        while time.monotonic() - start < self.seconds:
            due = int((time.monotonic() - start) * self.rate)
            for path in self.paths:
                n0 = self.written[path]
                if due > n0:
                    append(path, *[f"{path.stem} {n}" for n in range(n0, due)])
                    self.written[path] = due
            time.sleep(tick)


def numbers(lines: list[str], tag: str) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith(tag + " ")]


# -- the agent ----------------------------------------------------------------------------------------------

def test_agent_ships_each_complete_line_with_inode_and_offset(scale):
    agent = scale.agent("web-1")
    log = agent.root / "app.log"
    append(log, "first", raw=None)
    append(log, raw=b"caf\xc3\xa9 ok\nbad \xff byte\r\nno newline yet")
    r = scale.redis.client()
    wait_for(lambda: len(entries(r, "web-1", "app.log")) == 3, message="three entries")
    got = entries(r, "web-1", "app.log")
    assert [f["l"] for _, f in got] == ["first", "café ok", "bad \ufffd byte"]
    ino = f"{os.stat(log).st_ino:x}"
    assert [(f["i"], int(f["o"])) for _, f in got] == [(ino, 6), (ino, 15), (ino, 27)]
    append(log, raw=b" - done\n")
    wait_for(lambda: stream_lines(r, "web-1", "app.log")[-1:] == ["no newline yet - done"], message="held line")
    r.close()


def test_a_file_whose_name_is_not_utf8_ships_under_its_public_name(scale):
    agent = scale.agent("web-1")
    with open(os.fsencode(agent.root) + b"/caf\xe9.log", "ab") as f:
        f.write(b"shipped\n")
    node = scale.node()
    wait_for(lambda: [f["path"] for f in node.json("/api/files")[1]["files"]] == ["web-1/caf%E9.log"],
             message="listed under its public name")
    assert node.stream("/api/stream/web-1/caf%25E9.log").wait_lines(1) == ["shipped"]


def test_agent_sigkill_mid_write_then_restart_holds_every_line_exactly_once(scale):
    agent = scale.agent("web-1")
    log = agent.root / "app.log"
    writer = Writer([log], rate=2000, seconds=3)
    writer.start()
    r = scale.redis.client()
    wait_for(lambda: len(entries(r, "web-1", "app.log")) > 1500, message="lines shipped before the kill")
    agent.stop(signal.SIGKILL)
    time.sleep(0.3)  # the writer goes on while no agent runs (this is the scenario, not a wait for a condition)
    agent.start()
    writer.join()
    total = writer.written[log]
    wait_for(lambda: len(entries(r, "web-1", "app.log")) >= total, timeout=15, message=f"{total} lines")
    assert numbers(stream_lines(r, "web-1", "app.log"), "app") == list(range(total))
    r.close()


def test_agent_started_before_redis_ships_everything_once_redis_is_up(scale):
    scale.redis.stop()
    agent = scale.agent("web-1")
    append(agent.root / "app.log", "written while Redis was away")
    wait_for(lambda: "unreachable" in agent.stderr(), message="the outage logged")
    scale.redis.start()
    r = scale.redis.client()
    wait_for(lambda: stream_lines(r, "web-1", "app.log") == ["written while Redis was away"], message="shipped")
    wait_for(lambda: r.exists("logstream:alive:web-1"), message="host registered")
    r.close()


def test_agent_restart_finishes_a_file_rotated_while_it_was_down(scale):
    agent = scale.agent("web-1")
    log = agent.root / "app.log"
    append(log, "a1", "a2")
    r = scale.redis.client()
    wait_for(lambda: stream_lines(r, "web-1", "app.log") == ["a1", "a2"], message="a1 a2")
    agent.stop()
    append(log, "a3")
    log.rename(agent.root / "app.log.1")
    append(log, "b1")
    agent.start()
    wait_for(lambda: "b1" in stream_lines(r, "web-1", "app.log"), message="b1")
    got = entries(r, "web-1", "app.log")
    assert [f.get("l", f.get("k")) for _, f in got] == ["a1", "a2", "a3", "rotate", "b1"]
    r.close()


def test_rotation_and_truncation_reach_web_clients_as_control_events(scale):
    agent = scale.agent("web-1")
    log = agent.root / "app.log"
    append(log, "a1")
    node = scale.node()
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed")
    s = node.stream("/api/stream/web-1/app.log")
    s.wait_lines(1)
    append(log, "a2")
    log.rename(agent.root / "app.log.1")
    append(log, "b1")
    s.wait_lines(3)
    os.truncate(log, 0)
    append(log, "c1")
    s.wait_lines(4)
    kinds = [e.type if e.type != "message" else e.data for e in s.events]
    assert kinds == ["a1", "a2", "rotate", "b1", "truncate", "c1"]
    assert json.loads(s.of_type("rotate")[0].data) == {"path": "web-1/app.log", "reason": "rotated"}
    assert all(e.last_event_id for e in s.events)


# -- web nodes ------------------------------------------------------------------------------------------------

def test_web_node_lists_every_host_live(scale):
    one = scale.agent("web-1")
    append(one.root / "app.log", "x")
    node = scale.node()
    wait_for(lambda: [f["path"] for f in node.json("/api/files")[1]["files"]] == ["web-1/app.log"],
             message="web-1 listed")
    events = node.stream("/api/files/events")
    events.read_until(lambda c: c.of_type("snapshot"), message="snapshot")
    two = scale.agent("web-2")
    (two.root / "sub").mkdir()
    append(two.root / "sub" / "db.log", "y")
    events.read_until(lambda c: any(json.loads(e.data)["path"] == "web-2/sub/db.log" for e in c.of_type("created")),
                      message="web-2's file created")
    two.stop()
    events.read_until(lambda c: any(json.loads(e.data)["path"] == "web-2/sub/db.log" for e in c.of_type("deleted")),
                      message="web-2's file gone with its host")
    assert [f["path"] for f in node.json("/api/files")[1]["files"]] == ["web-1/app.log"]
    assert node.json("/healthz")[1]["watcher"] == "redis"


def test_stream_backlog_filter_text_and_bad_paths(scale):
    agent = scale.agent("web-1")
    append(agent.root / "app.log", *[f"{'ERROR' if i % 3 == 0 else 'INFO'} {i}" for i in range(30)])
    node = scale.node()
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed")
    s = node.stream("/api/stream/web-1/app.log?lines=5")
    assert s.wait_lines(5) == [f"{'ERROR' if i % 3 == 0 else 'INFO'} {i}" for i in range(25, 30)]
    assert all(re.fullmatch(r"\d+-\d+", e.last_event_id) for e in s.events)
    f = node.stream("/api/stream/web-1/app.log?lines=3&filter=ERROR")
    assert f.wait_lines(3) == ["ERROR 21", "ERROR 24", "ERROR 27"]
    append(agent.root / "app.log", "INFO quiet", "ERROR loud")
    assert f.wait_lines(4)[-1] == "ERROR loud"
    t = node.stream("/api/stream/web-1/app.log?lines=1&format=text")
    t.read_until(lambda c: bytes(c.raw).endswith(b"ERROR loud\n"), message="text line")
    assert node.json("/api/stream/web-9/app.log")[0] == 404
    assert node.json("/api/stream/..%2Fx")[0] in (403, 404)
    assert node.json("/api/stream/web-1/app.log?filter=(")[0] == 400


def test_one_reader_per_stream_per_node_whatever_the_number_of_clients(scale):
    """120 clients of one file cost one blocking XREAD connection (redis-py's pool
    of 100 would refuse the 101st if each client read for itself)."""
    agent = scale.agent("web-1")
    append(agent.root / "app.log", "x")
    node = scale.node()
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed")
    clients = [node.stream("/api/stream/web-1/app.log?lines=0") for _ in range(120)]
    append(agent.root / "app.log", "to everyone")
    for c in clients:
        assert c.wait_lines(1) == ["to everyone"]
    with scale.redis.client() as r:
        readers = [c for c in r.client_list() if c["cmd"] == "xread"]
    assert len(readers) == 1
    for c in clients:
        c.close()
    wait_for(lambda: node.json("/healthz")[1]["tailers"] == 0, message="the reader let go with the last client")


def test_merged_stream_across_hosts_resumes_on_another_node_under_load(scale):
    """Issue 6, point 1: two agents at 1,000 lines/s each, two nodes; a client cut
    off on node A resumes on node B with no gap and no duplicate."""
    one, two = scale.agent("web-1"), scale.agent("web-2")
    a_log, b_log = one.root / "app.log", two.root / "api.log"
    append(a_log, "app -1")
    append(b_log, "api -1")
    node_a, node_b = scale.node(), scale.node()
    wait_for(lambda: len(node_b.json("/api/files")[1]["files"]) == 2, message="both hosts' files")
    path = "/api/stream?path=web-1/app.log&path=web-2/api.log&lines=0"
    # Connected (lines=0: from now on) before the writer starts: on a loaded machine
    # a client that connects later misses the first lines by design, not by a gap.
    first = node_a.stream(path)
    first.read_until(lambda c: c.parser.retry is not None, message="the stream open")
    writer = Writer([a_log, b_log], rate=1000, seconds=4)
    writer.start()
    first.wait_lines(2000, timeout=20)
    last_id = first.events[-1].last_event_id
    first.close()
    second = node_b.stream(path, headers={"Last-Event-ID": last_id})
    writer.join()
    total = sum(writer.written.values())
    received = [e.data for e in first.events if e.type == "message"]
    second.wait_lines(total - len(received), timeout=20)
    received += second.lines
    assert not second.of_type("reset")
    for host, tag, log in (("web-1", "app", a_log), ("web-2", "api", b_log)):
        texts = [d.split("\n", 1)[1] for d in received if d.startswith(f"{host}/")]
        assert numbers(texts, tag) == list(range(writer.written[log])), f"{host}: a gap or a duplicate"
    assert len(last_id.split(",")) == 2


def test_trimmed_history_gets_a_reset_saying_how_much(scale):
    agent = scale.agent("web-1", "--maxlen", "100")
    log = agent.root / "app.log"
    append(log, "old")
    node = scale.node()
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed")
    s = node.stream("/api/stream/web-1/app.log")
    s.wait_lines(1)
    old_id = s.events[-1].last_event_id
    s.close()
    for n in range(5):
        append(log, *[f"new {n * 400 + i}" for i in range(400)])
    r = scale.redis.client()
    wait_for(lambda: stream_lines(r, "web-1", "app.log")[-1:] == ["new 1999"], message="all shipped")
    kept = stream_lines(r, "web-1", "app.log")
    assert len(kept) < 500
    again = node.stream("/api/stream/web-1/app.log", headers={"Last-Event-ID": old_id})
    again.wait_lines(len(kept))
    [reset] = again.of_type("reset")
    info = json.loads(reset.data)
    assert "trimmed" in info["reason"] and info["lost_ms"] >= 0 and info["path"] == "web-1/app.log"
    assert again.lines == kept  # everything Redis still has after the id, once
    r.close()


def test_redis_restart_without_persistence_recovers_and_resets_clients(scale):
    """Issue 6, point 3: Redis down 5 s and back empty; agents and nodes recover
    without a restart; a connected client is told by a reset, then lines flow."""
    agent = scale.agent("web-1")
    log = agent.root / "app.log"
    append(log, "before")
    node = scale.node()
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed")
    s = node.stream("/api/stream/web-1/app.log", timeout=30)
    s.wait_lines(1)
    old_id = s.events[-1].last_event_id
    scale.redis.stop()
    append(log, "while down")
    time.sleep(5)  # the scenario: Redis stays down for 5 s
    scale.redis.start()
    append(log, "after")
    s.read_until(lambda c: "after" in c.lines, timeout=20, message="lines after the restart")
    assert s.lines == ["before", "while down", "after"]
    assert any("lost" in json.loads(e.data)["reason"] for e in s.of_type("reset")), s.events
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed again")
    late = node.stream("/api/stream/web-1/app.log", headers={"Last-Event-ID": old_id})
    late.wait_lines(2)
    assert late.lines == ["while down", "after"] and late.of_type("reset")
    assert node.proc.poll() is None and agent.proc.poll() is None


# -- Redis losing what it had accepted (issue 12, item 10) ---------------------------------------------------------

def after_last_reset(client) -> list[str]:
    """The lines a client got after its last ``reset`` event."""
    resets = [n for n, e in enumerate(client.events) if e.type == "reset"]
    assert resets, f"no reset: {client.events[:5]!r}"
    return [e.data for e in client.events[resets[-1] + 1:] if e.type == "message"]


def stream_kinds(r, host, rel) -> list[str]:
    return [f.get("l", f.get("k")) for _, f in entries(r, host, rel)]


def one_file_watched(scale, *lines: str):
    """Agent web-1 with app.log holding ``lines``, a node, and a client of the file
    that has received them: (agent, log path, node, client)."""
    agent = scale.agent("web-1")
    log = agent.root / "app.log"
    append(log, *lines)
    node = scale.node()
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed")
    client = node.stream("/api/stream/web-1/app.log", timeout=30)
    client.wait_lines(len(lines))
    return agent, log, node, client


def test_redis_restart_empty_under_load_ships_again_every_line_still_on_disk(scale):
    """Item 10's case: an agent shipping ~250 lines/s, Redis stopped and started
    empty. A client resuming by an id from before gets a reset, then every line
    still on disk once; a client connected throughout gets every line once after
    its reset, or (it had the last line shipped before the loss) exactly once."""
    agent, log, node, connected = one_file_watched(scale, "start")
    writer = Writer([log], rate=250, seconds=6)
    writer.start()
    connected.wait_lines(200, timeout=20)
    resume_id = connected.events[-100].last_event_id  # lines after it were shipped before the loss
    wait_for(lambda: len(entries(scale.redis.client(), "web-1", "app.log")) > 400, timeout=20,
             message="lines shipped after the resume id")
    scale.redis.stop()
    time.sleep(2)  # the scenario: Redis stays down while the writer goes on
    scale.redis.start()
    writer.join()
    total = writer.written[log]
    last = f"app {total - 1}"
    connected.read_until(lambda c: c.lines[-1:] == [last], timeout=30, message="every line on the connected client")
    assert connected.of_type("reset")
    after = numbers(after_last_reset(connected), "app")
    assert after == list(range(total)) or numbers(connected.lines, "app") == list(range(total)), \
        "the connected client missed or repeated a line"
    resumed = node.stream("/api/stream/web-1/app.log", headers={"Last-Event-ID": resume_id})
    resumed.read_until(lambda c: c.lines[-1:] == [last], timeout=20, message="every line on the resumed client")
    assert numbers(after_last_reset(resumed), "app") == list(range(total))
    with scale.redis.client() as r:
        assert numbers(stream_lines(r, "web-1", "app.log"), "app") == list(range(total))  # once each in Redis
    assert "Redis lost" in agent.stderr()


def test_redis_restart_while_the_agent_is_idle_ships_its_lines_again(scale):
    """No write failed at all: the heartbeat sees the stream emptied. A client that
    was connected continues exactly (the agent's reset entry names its last id);
    one resuming from an older id gets a reset and every line."""
    agent, log, node, s = one_file_watched(scale, *[f"app {n}" for n in range(50)])
    assert numbers(s.lines, "app") == list(range(50))
    older = s.events[10].last_event_id
    scale.redis.stop()
    scale.redis.start()
    r = scale.redis.client()
    wait_for(lambda: stream_lines(r, "web-1", "app.log") == [f"app {n}" for n in range(50)], timeout=15,
             message="the idle file shipped again")
    assert stream_kinds(r, "web-1", "app.log")[0] == "reset"
    s.read_until(lambda c: c.of_type("reset"), timeout=15, message="the connected client told of the loss")
    append(log, "app 50")
    s.read_until(lambda c: c.lines[-1:] == ["app 50"], timeout=15, message="the next line")
    assert numbers(s.lines, "app") == list(range(51))  # nothing lost, nothing repeated
    late = node.stream("/api/stream/web-1/app.log", headers={"Last-Event-ID": older})
    late.read_until(lambda c: c.lines[-1:] == ["app 50"], timeout=15, message="the resumed client")
    assert numbers(after_last_reset(late), "app") == list(range(51))
    r.close()


@pytest.mark.parametrize("loss", ["flushall", "del", "xtrim"])
def test_history_removed_behind_the_agents_back_is_shipped_again(scale, loss):
    """FLUSHALL, the stream deleted, or trimmed to nothing, with no restart (a
    node's reader sees no broken connection): the agent ships the lines again
    after a reset entry naming its last entry. A client that had that entry goes
    on exactly; one resuming from an older id gets a reset and every line once."""
    agent, log, node, s = one_file_watched(scale, *[f"app {n}" for n in range(30)])
    older = s.events[10].last_event_id
    r = scale.redis.client()
    key = "logstream:stream:web-1:app.log"
    {"flushall": r.flushall, "del": lambda: r.delete(key), "xtrim": lambda: r.xtrim(key, maxlen=0)}[loss]()
    wait_for(lambda: stream_lines(r, "web-1", "app.log") == [f"app {n}" for n in range(30)], timeout=15,
             message="the lines shipped again")
    append(log, "app 30")
    s.read_until(lambda c: c.lines[-1:] == ["app 30"], timeout=15, message="the next line")
    assert numbers(s.lines, "app") == list(range(31))  # nothing lost, nothing repeated
    assert stream_kinds(r, "web-1", "app.log") == ["reset", *[f"app {n}" for n in range(31)]]
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed again")
    late = node.stream("/api/stream/web-1/app.log", headers={"Last-Event-ID": older})
    late.read_until(lambda c: c.lines[-1:] == ["app 30"], timeout=15, message="the resumed client")
    assert numbers(after_last_reset(late), "app") == list(range(31))
    r.close()


def test_redis_restarted_from_an_older_snapshot_gets_what_came_after_it(scale):
    """Persistence on, but the last writes were not in the snapshot: the agent
    ships what came after the stream's new last entry, and nothing twice."""
    agent = scale.agent("web-1")
    log = agent.root / "app.log"
    append(log, *[f"app {n}" for n in range(30)])
    r = scale.redis.client()
    wait_for(lambda: len(stream_lines(r, "web-1", "app.log")) == 30, message="30 lines shipped")
    r.save()  # the snapshot
    append(log, *[f"app {n}" for n in range(30, 60)])
    wait_for(lambda: len(stream_lines(r, "web-1", "app.log")) == 60, message="60 lines shipped")
    r.close()
    scale.redis.stop()
    scale.redis.start()  # loads the snapshot: 30 lines
    r = scale.redis.client()
    wait_for(lambda: len(stream_lines(r, "web-1", "app.log")) >= 60, timeout=15, message="the rest shipped again")
    append(log, "app 60")
    wait_for(lambda: stream_lines(r, "web-1", "app.log")[-1:] == ["app 60"], message="the next line")
    kinds = stream_kinds(r, "web-1", "app.log")
    assert kinds == [*[f"app {n}" for n in range(30)], "reset", *[f"app {n}" for n in range(30, 61)]]
    r.close()


# -- connection URL: password and TLS ---------------------------------------------------------------------------

def test_password_url_works_and_is_never_logged(tmp_path):
    secret = "s3cr3t-Pa55word"
    server = RedisServer(tmp_path / "redis-auth", password=secret)
    agent = node = None
    try:
        root = tmp_path / "logs"
        root.mkdir()
        append(root / "app.log", "hello")
        agent = Agent(root, server.url, "web-1")
        node = WebNode(tmp_path, ("--redis", server.url))
        s = node.stream("/api/stream/web-1/app.log") if wait_for(
            lambda: node.json("/api/files")[1]["files"], message="file listed") else None
        assert s.wait_lines(1) == ["hello"]
        bad = WebNode(tmp_path, ("--redis", server.url.replace(secret, "wrong-" + secret)))
        assert bad.json("/healthz")[1]["status"] == "degraded"
        bad.stop()
        server.stop()  # errors get logged now
        wait_for(lambda: "unreachable" in node.stderr() and "unreachable" in agent.stderr(), timeout=15,
                 message="outage logged")
        for log_text in (node.stderr(), agent.stderr(), bad.stderr()):
            assert secret not in log_text
        assert "***" in agent.stderr()
    finally:
        for proc in (node, agent):
            if proc is not None:
                proc.stop()
        server.stop()


@pytest.mark.parametrize("url,shown", [
    ("redis://:s3cret@h:6379/0", "redis://:***@h:6379/0"),
    ("redis://user:s3cret@h/0", "redis://user:***@h/0"),
    ("rediss://h:6380/0?ssl_ca_certs=/ca.pem&password=s3cret", "rediss://h:6380/0?ssl_ca_certs=/ca.pem&password=***"),
    ("redis://:s3cret@h:port/0", "<unparsable URL>"),
    ("redis://h:6379/0", "redis://h:6379/0"),
])
def test_the_url_is_only_ever_shown_with_the_password_masked(url, shown):
    assert masked(url) == shown


def test_rediss_url_with_tls(tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    tls = tmp_path / "tls"
    tls.mkdir()
    made = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tls / "key.pem"),
                           "-out", str(tls / "cert.pem")], capture_output=True)
    assert made.returncode == 0, made.stderr
    port = free_port()
    server = RedisServer(tmp_path / "redis-tls", "--tls-cert-file", str(tls / "cert.pem"), "--tls-key-file",
                         str(tls / "key.pem"), "--tls-ca-cert-file", str(tls / "cert.pem"), "--tls-auth-clients", "no",
                         tls_port=port)
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tls / 'cert.pem'}"
    agent = node = None
    try:
        root = tmp_path / "logs"
        root.mkdir()
        append(root / "app.log", "over tls")
        agent = Agent(root, url, "web-1")
        node = WebNode(tmp_path, ("--redis", url))
        wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed over TLS")
        assert node.stream("/api/stream/web-1/app.log").wait_lines(1) == ["over tls"]
    finally:
        for proc in (node, agent):
            if proc is not None:
                proc.stop()
        server.stop()


# -- the command line -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (("agent", "."), "--redis"),
    (("agent", ".", "--redis", "http://x"), "expected redis://"),
    (("agent", ".", "--redis", "redis://127.0.0.1:1/0", "--name", "a/b"), "--name"),
    ((".", "--redis", "redis://127.0.0.1:1/0"), "give no DIR"),
])
def test_scale_out_cli_errors_are_one_line(args, message):
    result = subprocess.run([sys.executable, "-m", "logstream", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_group_joins_traces_on_a_web_node_and_a_backlog_starts_at_a_trace_head(scale):
    from test_grouping import JAVA, PYTHON
    agent = scale.agent("web-1")
    log = agent.root / "app.log"
    append(log, "INFO a", *JAVA, *PYTHON, "INFO b")
    node = scale.node()
    wait_for(lambda: len(stream_lines(scale.redis.client(), "web-1", "app.log")) == 2 + len(JAVA) + len(PYTHON),
             message="every line shipped")
    s = node.stream("/api/stream/web-1/app.log?group=1&lines=3")  # the last 3 lines: inside the traceback
    assert s.wait_lines(2) == ["\n".join(PYTHON), "INFO b"]
    append(log, *JAVA, "INFO c")
    assert s.wait_lines(4)[2:] == ["\n".join(JAVA), "INFO c"]
    append(agent.root / "b.log", "b first")
    wait_for(lambda: stream_lines(scale.redis.client(), "web-1", "b.log"), message="b.log shipped")
    m = node.stream("/api/stream?path=web-1/app.log&path=web-1/b.log&group=1&lines=0")
    m.read_until(lambda c: b"caught up" in c.raw, message="caught up")
    append(log, "INFO d", *JAVA)
    append(agent.root / "b.log", "b next")
    append(log, "INFO e")
    got = m.wait_lines(4)
    assert sorted(got) == sorted(["web-1/app.log\nINFO d", "web-1/app.log\n" + "\n".join(JAVA),
                                  "web-1/app.log\nINFO e", "web-1/b.log\nb next"])


# -- group=1 and merged ids at their edges (found in review) ----------------------------------------

def eid(part):
    ms, seq = part.split("-")
    return (int(ms), int(seq))


def msgs(s):
    return [e for e in s.events if e.type in ("message", "continuation")]


def test_redis_merged_backlog_held_group_token_passes_unsent_lines(scale):
    """Kind 1: a Redis backlog that is one open group sets _held to topic.last
    (the cursor during notices()), i.e. PAST the held lines."""
    agent = scale.agent("web-1")
    a, b = agent.root / "a.log", agent.root / "b.log"
    append(a, "INFO a0", "ERROR x", "  at one", "  at two")
    append(b, "b0")
    r = scale.redis.client()
    wait_for(lambda: len(stream_lines(r, "web-1", "a.log")) == 4 and stream_lines(r, "web-1", "b.log"),
             message="shipped")
    node = scale.node()
    s = node.stream("/api/stream?path=web-1/a.log&path=web-1/b.log&group=1&lines=2")
    s.read_until(lambda c: len(msgs(c)) >= 2, message="both backlogs")
    first = msgs(s)[0]
    # the first event is a.log's trace; b0 has not been received at that point
    assert first.data.startswith("web-1/a.log\n")
    s.close()
    rr = node.stream("/api/stream?path=web-1/a.log&path=web-1/b.log&group=1",
                     headers={"Last-Event-ID": first.last_event_id})
    rr.read_until(lambda c: b"caught up" in c.raw, message="caught up")
    time.sleep(0.5)  # the scenario: more could still come
    rr.read_some(0.5)
    got = [m.data for m in msgs(rr)]
    assert "web-1/b.log\nb0" in got, f"b0 lost on resume with {first.last_event_id}: {got}"


def test_redis_control_entry_mid_page_makes_held_token_stale_and_lines_repeat(scale):
    """Kind 2: after a control entry inside one _encode call, group_lines uses
    the cursor from before the whole page as the held token: a resume from a
    later id of the other file replays lines (and the rotate) already sent."""
    agent = scale.agent("web-1")
    a, b = agent.root / "a.log", agent.root / "b.log"
    append(a, "a0")
    append(b, "b0")
    r = scale.redis.client()
    wait_for(lambda: stream_lines(r, "web-1", "a.log") and stream_lines(r, "web-1", "b.log"), message="shipped")
    node = scale.node()
    s = node.stream("/api/stream?path=web-1/a.log&path=web-1/b.log&group=1&lines=1")
    s.read_until(lambda c: len(msgs(c)) >= 2, message="a0 b0")
    start = msgs(s)[-1].last_event_id
    s.close()
    append(a, "a1")
    wait_for(lambda: "a1" in stream_lines(r, "web-1", "a.log"), message="a1")
    a.rename(agent.root / "a.log.1")
    append(a, "n1")
    wait_for(lambda: "n1" in stream_lines(r, "web-1", "a.log"), message="n1")
    append(b, "b1", "b2")
    wait_for(lambda: "b2" in stream_lines(r, "web-1", "b.log"), message="b2")
    s2 = node.stream("/api/stream?path=web-1/a.log&path=web-1/b.log&group=1", headers={"Last-Event-ID": start})
    s2.read_until(lambda c: "web-1/b.log\nb1" in [m.data for m in msgs(c)], message="b1")
    ev = {m.data: m.last_event_id for m in msgs(s2)}
    a1_part = eid(ev["web-1/a.log\na1"].split(",")[0])
    b1_apart = eid(ev["web-1/b.log\nb1"].split(",")[0])
    assert b1_apart >= a1_part, f"b1's id moves a.log back before a1 (sent): {ev}"


def test_redis_backlog_trace_head_crosses_a_rotate_entry(scale):
    """Kind 3: _from_trace_head drops control entries from its look-back, so the
    backlog starts before a rotation, the rotate event is lost and one event
    joins lines of two files."""
    agent = scale.agent("web-1")
    a = agent.root / "a.log"
    append(a, "INFO a0", "ERROR x", "  at one")
    r = scale.redis.client()
    wait_for(lambda: len(stream_lines(r, "web-1", "a.log")) == 3, message="shipped")
    a.rename(agent.root / "a.log.1")
    append(a, "  at two", "INFO n1")
    wait_for(lambda: "INFO n1" in stream_lines(r, "web-1", "a.log"), message="n1")
    node = scale.node()
    s = node.stream("/api/stream/web-1/a.log?group=1&lines=2")
    s.read_until(lambda c: "INFO n1" in [m.data for m in msgs(c)], message="n1")
    assert not any("ERROR x" in m.data and "at two" in m.data for m in msgs(s)), "one event across a rotation"
    kinds = [e.type for e in s.events]
    if any("ERROR x" in m.data for m in msgs(s)):
        assert "rotate" in kinds, "backlog starts before the rotation but its rotate event is dropped"


def test_redis_filtered_grouped_backlog_drops_trace_bodies(scale):
    """Kind 2: with filter=ERROR the Redis backlog keeps only matching lines, so
    a trace before the last loses its body (the file backlog shows it whole)."""
    agent = scale.agent("web-1")
    a = agent.root / "a.log"
    append(a, "INFO a", "ERROR one", "  at one", "INFO x", "ERROR two", "  at two", "INFO y")
    r = scale.redis.client()
    wait_for(lambda: len(stream_lines(r, "web-1", "a.log")) == 7, message="shipped")
    node = scale.node()
    s = node.stream("/api/stream/web-1/a.log?group=1&filter=ERROR&lines=10")
    s.read_until(lambda c: any("ERROR two" in m.data for m in msgs(c)), message="two")
    time.sleep(0.3)  # the scenario: more could still come
    s.read_some(0.3)
    got = [m.data for m in msgs(s)]
    assert got == ["ERROR one\n  at one", "ERROR two\n  at two"], got


def test_redis_merged_backlog_without_group_first_files_ids_pass_second_files_backlog(scale):
    agent = scale.agent("web-1")
    a, b = agent.root / "a.log", agent.root / "b.log"
    append(a, "a0")
    append(b, "b0", "b1")
    r = scale.redis.client()
    wait_for(lambda: stream_lines(r, "web-1", "a.log") and len(stream_lines(r, "web-1", "b.log")) == 2,
             message="shipped")
    node = scale.node()
    s = node.stream("/api/stream?path=web-1/a.log&path=web-1/b.log&lines=5")
    s.read_until(lambda c: len(msgs(c)) >= 3, message="backlogs")
    first = msgs(s)[0]
    s.close()
    rr = node.stream("/api/stream?path=web-1/a.log&path=web-1/b.log", headers={"Last-Event-ID": first.last_event_id})
    rr.read_until(lambda c: b"caught up" in c.raw, message="caught up")
    got = [m.data for m in msgs(rr)]
    assert "web-1/b.log\nb0" in got, (first.last_event_id, got)


def test_a_parked_stream_on_a_web_node_gets_live_lines_without_waking_its_greenlet(scale):
    # An idle stream parks (logstream/parking.py); live entries that continue it
    # exactly are written to its socket by the reader's greenlet, as on a file
    # node. Before, every batch spawned the stream's greenlet again.
    agent = scale.agent("web-1")
    append(agent.root / "app.log", "first")
    node = scale.node()
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed")
    streams = [node.stream("/api/stream/web-1/app.log"), node.stream("/api/stream/web-1/app.log?filter=odd")]
    streams[0].wait_lines(1)
    before = metrics(node).get("logstream_resumes_total", 0)
    for n in range(30):
        append(agent.root / "app.log", f"{'odd' if n % 2 else 'even'} {n}")
        streams[0].wait_lines(n + 2)
    assert streams[0].lines == ["first", *[f"{'odd' if n % 2 else 'even'} {n}" for n in range(30)]]
    assert streams[1].wait_lines(15) == [f"odd {n}" for n in range(1, 30, 2)]
    # Heartbeats go out without a greenlet too; a few resumes may come from the
    # parks' own timing, never one per batch (60 here without the direct path).
    assert metrics(node)["logstream_resumes_total"] - before < 10
