"""Scale-out benchmark (issue 6): end-to-end latency from a file append on an agent's
host to a client on a web node, through Redis Streams, and Redis memory per
million lines.

    .venv/bin/python bench/redis_latency.py                    # 1,000 lines/s, 2 nodes x 100 clients, 30 s
    .venv/bin/python bench/redis_latency.py --seconds 10 --memory-lines 200000   # quicker

Starts its own redis-server (loopback, persistence off), one agent, N web nodes
and, per node, a client process holding ``--clients`` SSE connections. Every
client reads everything; ``--measured`` of them per node parse each line's
write time (``time.time_ns()`` at the append, same machine clock) and record the
delay, the others only drain their socket. Also checks that every measured
client got every line exactly once. Then, for memory: a fresh Redis, one file of
``--memory-lines`` lines of ``--line-bytes`` bytes shipped by an agent, and
``used_memory`` before and after, per million lines.

Prints a Markdown summary and writes JSON to ``--out`` (default
bench/results/redis-latency-<time>.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


# -- the client process ---------------------------------------------------------------------------------------

def client_main(port: int, path: str, clients: int, measured: int, seconds: float, expect_prefix: str) -> None:
    """Holds ``clients`` connections (format=text); prints JSON results at the end."""
    sel = selectors.DefaultSelector()
    socks = []
    for n in range(clients):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        s.setblocking(False)
        state = {"n": n, "buf": b"", "head": False, "lat": [], "seqs": []}
        sel.register(s, selectors.EVENT_READ, state)
        socks.append(s)
    print("ready", flush=True)
    end = time.monotonic() + seconds
    received = 0
    while time.monotonic() < end:
        for key, _ in sel.select(0.2):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(key.fileobj)
                continue
            now = time.time_ns()
            received += len(data)
            st = key.data
            if st["n"] >= measured:
                continue
            buf = st["buf"] + data
            lines = buf.split(b"\n")
            st["buf"] = lines.pop()
            for line in lines:
                # chunked framing and headers interleave; our lines start with the prefix
                if line.startswith(expect_prefix.encode()):
                    _, t, seq = line.split(b" ", 3)[:3]
                    st["lat"].append((now - int(t)) / 1e6)
                    st["seqs"].append(int(seq))
    result = {"latencies_ms": [], "exact": True, "lines_per_client": [], "bytes": received}
    for key in list(sel.get_map().values()):
        st = key.data
        if st["n"] < measured:
            result["latencies_ms"].extend(st["lat"])
            seqs = st["seqs"]
            result["lines_per_client"].append(len(seqs))
            if seqs != list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False:
                result["exact"] = False
    for s in socks:
        s.close()
    print(json.dumps(result), flush=True)


# -- orchestration -----------------------------------------------------------------------------------------------

class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(workdir)], cwd=workdir,
                                     stdout=subprocess.DEVNULL)
        import redis

        self.r = redis.Redis(port=self.port, decode_responses=True)
        wait_for(self._ping, 10, "redis-server")

    def _ping(self):
        import redis

        try:
            return self.r.ping()
        except redis.RedisError:
            return False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.r.close()
        self.proc.terminate()
        self.proc.wait()


def start(cmd: list[str], marker: str, log: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=open(log, "ab"),
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline().decode()
    if marker not in line:
        raise SystemExit(f"{cmd[3:5]} did not start: {line!r} (see {log})")
    return proc, line


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def latency_run(args, work: Path, prepare=None, during=None) -> dict:
    """``prepare(redis)`` runs before anything else starts; ``during(ports)``
    returns a context manager held while the lines are written
    (bench/redis_search.py: a stream to search, a search running on the nodes)."""
    redis_ = Redis(work)
    if prepare:
        prepare(redis_)
    logs = work / "host"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text("")
    procs = []
    try:
        agent, _ = start([PY, "-m", "logstream", "agent", str(logs), "--redis", redis_.url, "--name", "web-1"],
                         "shipping", work / "agent.err")
        procs.append(agent)
        ports = []
        for n in range(args.nodes):
            node, line = start([PY, "-m", "logstream", "--redis", redis_.url, "--port", "0"], "serving",
                               work / f"node{n}.err")
            procs.append(node)
            ports.append(int(line.rsplit(":", 1)[1].split("/")[0]))
        wait_for(lambda: redis_.r.hlen("logstream:files:web-1"), 10, "the agent's file list")
        clients = []
        for port in ports:
            c = subprocess.Popen([PY, __file__, "--client", str(port), "/api/stream/web-1/app.log?format=text&lines=0",
                                  str(args.clients), str(args.measured), str(args.seconds + 8), "LAT"],
                                 stdout=subprocess.PIPE, cwd=ROOT)
            assert c.stdout.readline().strip() == b"ready"
            clients.append(c)
        time.sleep(1)  # let every connection finish its start (a start-up phase, not a correctness wait)
        load_before = [round(x, 2) for x in os.getloadavg()]
        pad = "x" * max(0, args.line_bytes - 40)
        seq = 0
        tick = 0.005
        with (during(ports) if during else contextlib.nullcontext()), open(log, "a") as f:
            t0 = time.monotonic()
            while time.monotonic() - t0 < args.seconds:
                due = int((time.monotonic() - t0) * args.rate)
                if due > seq:
                    f.write("".join(f"LAT {time.time_ns()} {n} {pad}\n" for n in range(seq, due)))
                    f.flush()
                    seq = due
                time.sleep(tick)
        results = [json.loads(c.communicate(timeout=60)[0].decode().strip().splitlines()[-1]) for c in clients]
        # The first stage alone: append → entry in Redis (the entry id is Redis's clock in ms).
        stage = [int(i.split("-")[0]) - int(f["l"].split()[1]) / 1e6
                 for i, f in redis_.r.xrange("logstream:stream:web-1:app.log") if f.get("l", "").startswith("LAT ")]
        lat = [v for r in results for v in r["latencies_ms"]]
        per_client = [n for r in results for n in r["lines_per_client"]]
        return {
            "lines_written": seq, "rate": args.rate, "seconds": args.seconds, "nodes": args.nodes,
            "clients_per_node": args.clients, "measured_per_node": args.measured,
            "p50_ms": round(percentile(lat, 50), 2), "p90_ms": round(percentile(lat, 90), 2),
            "p99_ms": round(percentile(lat, 99), 2), "max_ms": round(max(lat), 2) if lat else None,
            "mean_ms": round(statistics.fmean(lat), 2) if lat else None,
            "every_line_exactly_once": all(r["exact"] for r in results) and all(n == seq for n in per_client),
            "lines_per_measured_client": sorted(set(per_client)),
            "agent_p50_ms": round(percentile(stage, 50), 2), "agent_p99_ms": round(percentile(stage, 99), 2),
            "load_average_before": load_before,
        }
    finally:
        for p in procs:
            stop(p)
        redis_.stop()


def memory_run(args, work: Path) -> dict:
    redis_ = Redis(work)
    logs = work / "mem"
    logs.mkdir()
    pad = "y" * max(0, args.line_bytes - 45)
    (logs / "app.log").write_text("")
    before = int(redis_.r.info("memory")["used_memory"])
    t0 = time.monotonic()
    agent, _ = start([PY, "-m", "logstream", "agent", str(logs), "--redis", redis_.url, "--name", "mem",
                      "--maxlen", str(args.memory_lines * 2)], "shipping", work / "agent-mem.err")
    try:
        key = "logstream:stream:mem:app.log"
        wait_for(lambda: redis_.r.exists(key) or redis_.r.hlen("logstream:files:mem"), 10, "the agent")
        # Appended while the agent runs (an agent's first start ships at most the
        # file's last 64 MiB), in 10,000-line writes.
        with open(logs / "app.log", "a") as f:
            for start_n in range(0, args.memory_lines, 10_000):
                f.write("".join(f"2026-11-28T10:11:24.{n % 1000:03d}Z INFO {n} {pad}\n"
                                for n in range(start_n, min(args.memory_lines, start_n + 10_000))))
                f.flush()
        wait_for(lambda: redis_.r.xlen(key) >= args.memory_lines, 600, "all lines shipped")
        took = time.monotonic() - t0
        after = int(redis_.r.info("memory")["used_memory"])
    finally:
        stop(agent)
        redis_.stop()
    per_line = (after - before) / args.memory_lines
    return {"lines": args.memory_lines, "line_bytes": args.line_bytes, "used_memory_delta": after - before,
            "bytes_per_line": round(per_line, 1), "mib_per_million_lines": round(per_line * 1e6 / 2**20, 1),
            "agent_ship_lines_per_s": round(args.memory_lines / took)}


def main() -> None:
    if sys.argv[1:2] == ["--client"]:
        port, path, clients, measured, seconds, prefix = sys.argv[2:8]
        return client_main(int(port), path, int(clients), int(measured), float(seconds), prefix)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=int, default=1000, help="lines/s appended on the agent's host (default 1000)")
    p.add_argument("--seconds", type=float, default=30, help="length of the latency run (default 30)")
    p.add_argument("--nodes", type=int, default=2, help="web nodes (default 2)")
    p.add_argument("--clients", type=int, default=100, help="SSE clients per node (default 100)")
    p.add_argument("--measured", type=int, default=10, help="clients per node that time every line (default 10)")
    p.add_argument("--line-bytes", type=int, default=120, help="bytes per line (default 120)")
    p.add_argument("--memory-lines", type=int, default=1_000_000, help="lines for the memory run (default 1e6)")
    p.add_argument("--out", help="JSON output (default bench/results/redis-latency-<time>.json)")
    args = p.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="logstream-redis-bench-") as tmp:
        work = Path(tmp)
        (work / "lat").mkdir()
        (work / "mem").mkdir()
        latency = latency_run(args, work / "lat")
        memory = memory_run(args, work / "mem") if args.memory_lines else None
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
              "latency": latency, "memory": memory}
    out = Path(args.out or ROOT / "bench" / "results" / f"redis-latency-{time.strftime('%Y%m%d-%H%M')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    lat = latency
    print(f"\n| append → client ({lat['rate']} lines/s, {lat['nodes']} nodes × {lat['clients_per_node']} clients) "
          f"| p50 | p90 | p99 | max | exactly once |\n|---|---|---|---|---|---|\n"
          f"| {lat['lines_written']} lines, {lat['measured_per_node']} timed clients per node | {lat['p50_ms']} ms "
          f"| {lat['p90_ms']} ms | {lat['p99_ms']} ms | {lat['max_ms']} ms | {lat['every_line_exactly_once']} |")
    print(f"\nfirst stage (append → entry in Redis, ms resolution): p50 {lat['agent_p50_ms']} ms, "
          f"p99 {lat['agent_p99_ms']} ms; load average before the run {lat['load_average_before']}")
    if memory:
        print(f"\nRedis memory: {memory['bytes_per_line']} B per line of {memory['line_bytes']} B = "
              f"{memory['mib_per_million_lines']} MiB per million lines "
              f"(agent shipped {memory['agent_ship_lines_per_s']} lines/s)")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
