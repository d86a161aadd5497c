"""redis_search: ``GET /api/search`` on a scale-out web node (a Redis stream's
entries), its rate, what hiredis buys, and the live streams of the node while it runs.

    .venv/bin/python bench/redis_search.py [--entries 1000000] [--seconds 20] [--clients 100] [--out NAME]

1. Fills a stream (``bench/big.log``) with ``--entries`` lines like bench/search.py's
   (~110 bytes; 0.05% hold its literal, 0.1% a 5xx status) through a Lua loop of
   ``XADD``, then times a whole search of it over HTTP on a fresh web node, for the
   literal and for the character class (``limit`` above the matches, so every
   entry is read; the hits must equal a count by RE2 over the same lines): entries
   and MB of text per second, and the node's CPU.
2. In this process, the same scans through ``RedisSearch`` with redis-py's reply
   parser set to hiredis, then to its pure-Python one, taking turns: the parsers' ratio.
3. Scenario B on Redis (bench/redis_latency.py: an agent, one web node, ``--clients``
   SSE clients, 1,000 lines/s) twice: alone, and with a search of the big stream
   running in a loop on the same node the whole time; p99 of both and their ratio.

Writes NAME.json (default bench/results/redis-search-<time>.json) and prints Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import re2  # noqa: E402
import redis  # noqa: E402
import redis_latency  # noqa: E402
import search as file_search  # noqa: E402

from logstream import redis_schema  # noqa: E402
from logstream.query import Query  # noqa: E402
from logstream.sources.redis_history import RedisHistory  # noqa: E402
from logstream.sources.redis_search import open_search  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEY, PATH = "logstream:stream:bench:big.log", "bench/big.log"
PATTERNS = (("literal", file_search.LITERAL), ("character class", file_search.CLASS))
XADD_LOOP = "for n = 1, #ARGV do redis.call('XADD', KEYS[1], '*', 'l', ARGV[n], 'i', '1', 'o', '0') end"


def fill(r: redis.Redis, entries: int) -> tuple[dict[str, int], int]:
    """``entries`` lines into KEY; how many lines each pattern matches, and their bytes (LFs counted)."""
    with tempfile.NamedTemporaryFile() as f:
        file_search.make_log(f.name, entries * 130)
        lines = Path(f.name).read_text().splitlines()[:entries]
    for at in range(0, len(lines), 2000):
        r.eval(XADD_LOOP, 1, KEY, *lines[at:at + 2000])
    return {name: sum(1 for t in lines if re2.search(p, t)) for name, p in PATTERNS}, sum(map(len, lines)) + len(lines)


def over_http(port: int, pid: int, expected: dict[str, int], runs: int, text_bytes: int) -> list[dict]:
    rows = []
    for name, pattern in PATTERNS:
        got = [file_search.search(port, PATH, pattern, limit=100_000, pid=pid) for _ in range(runs)]
        took, done, cpu = min(got, key=lambda g: g[0])
        if done["hits"] != expected[name] or not done["complete"]:
            raise RuntimeError(f"{name}: {done} but {expected[name]} lines match")
        rows.append({"pattern": name, "hits": done["hits"], "entries": done["scanned_bytes"], "s": round(took, 3),
                     "entries_per_s": round(done["scanned_bytes"] / took), "text_mb_per_s": round(
                         text_bytes / took / 1e6, 1), "cpu_s": round(cpu, 3), "all_s": [round(g[0], 3) for g in got]})
    return rows


def parsers(url: str, runs: int) -> list[dict]:
    """Whole scans in this process with each of redis-py's reply parsers, taking turns."""
    times: dict[str, list[float]] = {"hiredis": [], "python": []}
    classes = {"hiredis": redis.connection._HiredisParser, "python": redis.connection._RESP2Parser}
    for _ in range(runs):
        for name, parser in classes.items():
            client = redis_schema.client(url)
            client.connection_pool.connection_kwargs["parser_class"] = parser
            history = RedisHistory(client, KEY, PATH)
            scan = open_search(history, Query.build(file_search.LITERAL, False, []), limit=100_000, context=0,
                               oldest_first=False)
            t = time.perf_counter()
            for _ in scan.steps():
                pass
            times[name].append(time.perf_counter() - t)
            client.close()
    entries = scan.scanned
    return [{"parser": name, "best_s": round(min(v), 3), "entries_per_s": round(entries / min(v)),
             "all_s": [round(x, 3) for x in v]} for name, v in times.items()]


@contextlib.contextmanager
def searching(ports, log: list):
    """A search of the big stream looping on the first node meanwhile."""
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                log.append(file_search.search(ports[0], PATH, file_search.LITERAL)[0])
            except (OSError, RuntimeError):
                return

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20, help="length of each live run (default 20)")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--out")
    args = ap.parse_args()
    out: dict = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "entries": args.entries,
                 "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="logstream-redis-search-") as tmp:
        work = Path(tmp)
        redis_ = redis_latency.Redis(work)
        node = None
        try:
            expected, text_bytes = fill(redis_.r, args.entries)
            node, line = redis_latency.start([sys.executable, "-m", "logstream", "--redis", redis_.url, "--port", "0"],
                                             "serving", work / "node.err")
            port = int(line.rsplit(":", 1)[1].split("/")[0])
            out["http"] = over_http(port, node.pid, expected, args.runs, text_bytes)
            out["parsers"] = parsers(redis_.url, args.runs)
        finally:
            if node is not None:
                redis_latency.stop(node)
            redis_.stop()
        live = SimpleNamespace(rate=1000, seconds=args.seconds, nodes=1, clients=args.clients, measured=10,
                               line_bytes=120)
        (work / "alone").mkdir()
        (work / "searching").mkdir()
        alone = redis_latency.latency_run(live, work / "alone")
        searches: list[float] = []
        busy = redis_latency.latency_run(live, work / "searching", prepare=lambda r: fill(r.r, args.entries),
                                         during=lambda ports: searching(ports, searches))
    out["live"] = {"alone": alone, "searching": busy, "searches_done": len(searches),
                   "p99_ratio": round(busy["p99_ms"] / alone["p99_ms"], 2)}
    name = args.out or str(ROOT / "bench" / "results" / f"redis-search-{time.strftime('%Y%m%d-%H%M')}")
    Path(name + ".json").write_text(json.dumps(out, indent=2) + "\n")
    print(report(out))
    print(f"\nwritten to {name}.json")


def report(out: dict) -> str:
    rows = ["| pattern | hits | entries | best of runs | entries/s | text MB/s | node CPU |",
            "|---|---|---|---|---|---|---|"]
    rows += [f"| {r['pattern']} | {r['hits']:,} | {r['entries']:,} | {r['s']} s | {r['entries_per_s']:,} | "
             f"{r['text_mb_per_s']} | {r['cpu_s']} s |" for r in out["http"]]
    p = {r["parser"]: r for r in out["parsers"]}
    rows.append(f"\nIn-process scan, literal: hiredis {p['hiredis']['entries_per_s']:,} entries/s, pure-Python parser "
                f"{p['python']['entries_per_s']:,} entries/s "
                f"({p['hiredis']['entries_per_s'] / p['python']['entries_per_s']:.1f}x).")
    live = out["live"]
    rows.append(f"\nLive (1,000 lines/s, {live['alone']['clients_per_node']} clients, one node): p99 "
                f"{live['alone']['p99_ms']} ms alone, {live['searching']['p99_ms']} ms with a search looping "
                f"({live['searches_done']} searches done): {live['p99_ratio']}x; every line exactly once: "
                f"{live['alone']['every_line_exactly_once']} / {live['searching']['every_line_exactly_once']}.")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
