"""bench/history.py: the history endpoints' speed (issue 13), over real HTTP to a
real server on loopback, in one run so the figures compare as ratios.

- ``/api/lines?before=ID&limit=200`` and ``around=ID`` at random places of a
  10 MiB and a 1 GiB file (target: <= 10 ms to the full answer, independent of
  the file's size);
- ``since=TIME`` at random times (binary search; target: first line <= 20 ms);
- a page in the middle of a ``.gz`` sibling: the first decompresses the whole
  archive (the rate is stated), the next pages back use the cached content.

Files are generated under a temporary directory in /tmp and deleted after.

    .venv/bin/python bench/history.py [--big-mib 1024] [--samples 40]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

LINE = "{stamp} INFO worker-{w} request id={n:010d} path=/api/v1/items/{n} status=200 took={ms}ms\n"
START = 1_764_475_200  # 2025-11-30T04:00:00Z


def write_log(path: Path, size: int, seed: int) -> int:
    """A log of about ``size`` bytes, one line every 10 ms; returns its line count."""
    rng = random.Random(seed)
    n = 0
    with open(path, "w") as f:
        written = 0
        while written < size:
            block = []
            for _ in range(10_000):
                t = START + n / 100
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
                block.append(LINE.format(stamp=stamp, w=rng.randrange(16), n=n, ms=rng.randrange(900)))
                n += 1
            text = "".join(block)
            f.write(text)
            written += len(text)
    return n


def random_ids(path: Path, count: int, seed: int, ino: int | None = None) -> list[str]:
    """Ids of lines at random places of ``path`` (plain): offsets just past an LF."""
    rng = random.Random(seed)
    size = path.stat().st_size
    ino = ino if ino is not None else path.stat().st_ino
    out = []
    with open(path, "rb") as f:
        for _ in range(count):
            f.seek(rng.randrange(size // 100, size - 4096))
            chunk = f.read(4096)
            end = f.tell() - len(chunk) + chunk.index(b"\n") + 1
            out.append(f"{ino:x}-{end}")
    return out


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[float, dict]:
        """Milliseconds to the full answer, and the answer."""
        t0 = time.perf_counter()
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        body = resp.read()
        elapsed = (time.perf_counter() - t0) * 1000
        if resp.status != 200:
            raise RuntimeError(f"{path}: {resp.status} {body[:200]!r}")
        return elapsed, json.loads(body)


def start_server(root: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "logstream", str(root), "--port", "0", "--host", "127.0.0.1",
                             "--max-backlog", "10000"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while True:
        line = proc.stdout.readline().decode()
        if not line:
            raise RuntimeError("server did not start")
        if "serving" in line and "://" in line:
            return proc, int(line.rsplit(":", 1)[1].split("/")[0])


def summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"n": len(samples), "p50_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2), "max_ms": round(samples[-1], 2)}


def measure(clients: dict[str, Client], ids: dict[str, list[str]], lines: dict[str, int], samples: int) -> dict:
    """Each operation at ``samples`` random places of each file, the files taking
    turns request by request, so that load from elsewhere on the machine falls
    on both alike and the ratio between them holds."""
    out = {name: {"before": [], "around": [], "since": []} for name in clients}
    rng = random.Random(7)
    for client in clients.values():
        client.get("/api/lines/app.log?limit=200")  # warm: the server's first request starts its watcher
    for n in range(samples):
        for name, client in clients.items():
            i = ids[name][n]
            out[name]["before"].append(client.get(f"/api/lines/app.log?limit=200&before={i}")[0])
            out[name]["around"].append(client.get(f"/api/lines/app.log?limit=200&around={i}")[0])
            t = START + rng.randrange(lines[name]) / 100
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "Z"
            ms, body = client.get(f"/api/lines/app.log?limit=1&since={quote(stamp)}")
            assert body["lines"], body
            out[name]["since"].append(ms)
    return {name: {op: summary(v) for op, v in ops.items()} for name, ops in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--small-mib", type=int, default=10)
    parser.add_argument("--gz-mib", type=int, default=64, help="decompressed size of the .gz sibling")
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="logstream-history-bench-", dir="/tmp"))
    procs: list[subprocess.Popen] = []
    try:
        small_dir, big_dir = tmp / "small", tmp / "big"
        small_dir.mkdir()
        big_dir.mkdir()
        t0 = time.monotonic()
        small_lines = write_log(small_dir / "app.log", args.small_mib << 20, 1)
        big_lines = write_log(big_dir / "app.log", args.big_mib << 20, 2)
        plain = tmp / "gz-source"
        write_log(plain, args.gz_mib << 20, 3)
        (small_dir / "app.log.1.gz").write_bytes(gzip.compress(plain.read_bytes(), 6))
        print(f"generated in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        results: dict = {"files": {"small_bytes": (small_dir / "app.log").stat().st_size,
                                   "big_bytes": (big_dir / "app.log").stat().st_size,
                                   "gz_decompressed_bytes": plain.stat().st_size,
                                   "gz_compressed_bytes": (small_dir / "app.log.1.gz").stat().st_size}}
        procs, clients = [], {}
        for name, root in (("small", small_dir), ("big", big_dir)):
            proc, port = start_server(root)
            procs.append(proc)
            clients[name] = Client(port)
            # page-cache the file: the targets are for a warm cache (a cold disk adds its seeks)
            subprocess.run(["cat", str(root / "app.log")], stdout=subprocess.DEVNULL, check=True)
        results.update(measure(clients, {"small": random_ids(small_dir / "app.log", args.samples, 5),
                                         "big": random_ids(big_dir / "app.log", args.samples, 5)},
                               {"small": small_lines, "big": big_lines}, args.samples))
        client = clients["small"]
        gz_ino = (small_dir / "app.log.1.gz").stat().st_ino
        mid = random_ids(plain, 1, 9, gz_ino)[0]
        offset = int(mid.split("-")[1])
        cold, body = client.get(f"/api/lines/app.log?limit=200&before={mid}")
        warm = []
        for _ in range(10):  # paging on back: the archive is decompressed once, then cached
            ms, body = client.get(f"/api/lines/app.log?limit=200&before={body['start']}")
            warm.append(ms)
        results["gz"] = {"offset": offset, "first_page_ms": round(cold, 1),
                         "first_page_rate_mb_s": round(results["files"]["gz_decompressed_bytes"] / 1e6
                                                       / (cold / 1000), 1),
                         "next_pages": summary(warm)}
        t0 = time.perf_counter()
        subprocess.run(f"zcat {small_dir / 'app.log.1.gz'} | wc -l", shell=True, check=True,
                       stdout=subprocess.DEVNULL)
        results["gz"]["zcat_rate_mb_s"] = round(results["files"]["gz_decompressed_bytes"] / 1e6
                                                / (time.perf_counter() - t0), 1)
        for op in ("before", "around", "since"):
            results[f"ratio_{op}_p50_big_over_small"] = round(results["big"][op]["p50_ms"]
                                                              / results["small"][op]["p50_ms"], 2)
        print(json.dumps(results, indent=2))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
