"""search: ``GET /api/search`` against ``LC_ALL=C grep -c`` and ``zcat | grep -c``
on the same files in the same run, and scenario B (bench/run.py) while searches run.

    .venv/bin/python bench/search.py [--size-mib 1024] [--gz-mib 256] [--runs 3] [--no-live] [--quick]
                                     [--out bench/results/NAME]

Writes a 1 GiB log under /tmp (deleted after), reads it once so it is in the page
cache, then for a literal and for a regex with a character class times, best of
``--runs``: grep counting the matching lines, and a search of the whole file
(``limit`` above the number of matches, so it reads every byte) from the request
to its ``done`` event, over HTTP on loopback; both must count the same lines. Then
the same for a gzip-compressed sibling (``app.log.1.gz``: its history). Then
scenario B (100 clients, 1,000 lines/s) on a fresh server twice: alone, and with a
search of the 1 GiB file (hard-linked into the server's directory) running in a
loop the whole time; p99 of both and their ratio. Prints Markdown; writes
NAME.json and NAME.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procstat  # noqa: E402
import run  # noqa: E402
from servers import BENCH, Logstream  # noqa: E402

from logstream.sse import Parser  # noqa: E402

LITERAL = "payment gateway timeout"
CLASS = "status=5[0-9][0-9] "
WORDS = "order payment user session cache query retry placed shipped items total customer checkout".split()


def make_log(path: str, size: int) -> None:
    """~110-byte lines: 0.05% hold LITERAL, 0.1% a 5xx status (CLASS)."""
    rng = random.Random(13)
    lines = []
    for i in range(50_000):
        status = rng.choice((500, 502, 503)) if rng.random() < 0.001 else rng.choice((200, 201, 204, 301, 404))
        words = " ".join(rng.choices(WORDS, k=6))
        if rng.random() < 0.0005:
            words += " " + LITERAL
        lines.append(f"2026-11-30T04:{i // 3600 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z INFO [web-{i % 4}] "
                     f"{words} status={status} took {rng.randint(1, 3000)} ms")
    block = ("\n".join(lines) + "\n").encode()
    with open(path, "wb") as f:
        written = 0
        while written < size:
            f.write(block)
            written += len(block)


def warm(path: str) -> None:
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def timed(cmd: str) -> tuple[float, int, float]:
    """Wall seconds, the count printed, CPU seconds of the command's processes."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    return wall, int(out.stdout.strip() or 0), cpu


def search(port: int, path: str, pattern: str, limit: int = 100_000,
           pid: int | None = None) -> tuple[float, dict, float]:
    """Seconds from the request to ``done``, ``done``, and the server's CPU seconds meanwhile."""
    cpu0 = procstat.cpu_seconds(pid) if pid else 0.0
    target = f"/api/search/{path}?" + urllib.parse.urlencode({"q": pattern, "limit": limit})
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", target)
    resp = conn.getresponse()
    parser = Parser()
    done = None
    while done is None:
        chunk = resp.read1(1 << 20)
        if not chunk:
            break
        for event in parser.feed(chunk):
            if event.type == "done":
                done = json.loads(event.data)
    elapsed = time.perf_counter() - t
    conn.close()
    end = time.monotonic() + 5
    while pid and procstat.descendants(pid) and time.monotonic() < end:
        time.sleep(0.01)  # the search's process ends after done: its CPU counts once reaped
    cpu = procstat.cpu_seconds(pid) - cpu0 if pid else 0.0
    if done is None:
        raise RuntimeError(f"search of {path} for {pattern!r} ended without done")
    return elapsed, done, cpu


def compare(port: int, pid: int, rel: str, file: str, runs: int, gz: bool) -> list[dict]:
    rows = []
    for name, pattern in (("literal", LITERAL), ("character class", CLASS)):
        cmd = f"zcat {file} | grep -c '{pattern}'" if gz else f"grep -c '{pattern}' {file}"
        base = [timed(cmd) for _ in range(runs)]
        ours = [search(port, rel, pattern, pid=pid) for _ in range(runs)]
        g_s, g_n, g_cpu = min(base)
        s_s, done, s_cpu = min(ours, key=lambda r: r[0])
        if done["hits"] != g_n or not done["complete"]:
            raise RuntimeError(f"{name}: search found {done['hits']} (complete {done['complete']}), grep {g_n}")
        rows.append({"pattern": name, "regex": pattern, "matches": g_n, "grep_s": round(g_s, 3),
                     "search_s": round(s_s, 3), "ratio": round(g_s / s_s, 2), "runs": runs,
                     "grep_cpu_s": round(min(x[2] for x in base), 3), "search_cpu_s": round(min(x[2] for x in ours), 3),
                     "grep_all_s": [round(x[0], 3) for x in base], "search_all_s": [round(x[0], 3) for x in ours]})
        run.log(f"  {name}: grep {g_s:.3f} s, search {s_s:.3f} s ({g_s / s_s:.2f}x), {g_n} matches; "
                f"CPU grep {g_cpu:.3f} s, search {s_cpu:.3f} s")
    return rows


class Searching(Logstream):
    """logstream with a search of BIG (hard-linked into its directory) running in a loop."""

    big = ""
    pattern = LITERAL

    def start(self, timeout: float = 30) -> None:
        os.link(self.big, os.path.join(self.root, "big.log"))
        super().start(timeout)
        self.searches: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.searches.append(search(self.port, "big.log", self.pattern)[0])
            except (OSError, RuntimeError, http.client.HTTPException) as exc:
                if not self._stop.is_set():
                    run.log(f"a search failed while the server ran: {exc!r}")
                return  # the server is stopping

    def stop(self) -> None:
        if hasattr(self, "_stop"):
            self._stop.set()
        super().stop()
        Searching.last_searches = list(getattr(self, "searches", []))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--gz-mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-live", action="store_true", help="skip scenario B with and without a search")
    ap.add_argument("--live-only", action="store_true", help="only scenario B with and without a search")
    ap.add_argument("--quick", action="store_true", help="64 MiB, 16 MiB compressed, one run, B with 2,000 lines")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", time.strftime("%Y%m%d-%H%M%S") + "-search"))
    args = ap.parse_args()
    if args.quick:
        args.size_mib, args.gz_mib, args.runs = 64, 16, 1
    tmp = tempfile.mkdtemp(prefix="logstream-search-")
    out: dict = {"machine": run.machine(), "size_bytes": args.size_mib << 20}
    try:
        root, gzroot = os.path.join(tmp, "plain"), os.path.join(tmp, "gz")
        os.makedirs(root)
        os.makedirs(gzroot)
        big = os.path.join(root, "app.log")
        run.log(f"writing {args.size_mib} MiB")
        make_log(big, args.size_mib << 20)
        out["size_bytes"] = os.path.getsize(big)
        run.log(f"compressing {args.gz_mib} MiB")
        make_log(os.path.join(gzroot, "part"), args.gz_mib << 20)
        subprocess.run(["gzip", "-6", os.path.join(gzroot, "part")], check=True)
        os.rename(os.path.join(gzroot, "part.gz"), os.path.join(gzroot, "app.log.1.gz"))
        open(os.path.join(gzroot, "app.log"), "w").close()
        gz = os.path.join(gzroot, "app.log.1.gz")
        warm(big)
        warm(gz)
        for label, directory, rel, file, is_gz in () if args.live_only else (("plain", root, "app.log", big, False),
                                                                           ("gz", gzroot, "app.log", gz, True)):
            server = Logstream(directory, file)
            server.start()
            try:
                run.log(f"{label}: {os.path.getsize(file) / 1e6:.0f} MB on disk")
                out[label] = compare(server.port, server.pid, rel, file, args.runs, is_gz)
            finally:
                server.stop()
        out["gz_bytes"] = os.path.getsize(gz)
        out["gz_content_bytes"] = args.gz_mib << 20
        if not args.no_live:
            count = 2000 if args.quick else 20_000
            run.log("scenario B alone")
            alone = run.live(Logstream, 100, 1000, count)
            Searching.big = big
            run.log("scenario B with searches of the big file running")
            busy = run.live(Searching, 100, 1000, count)
            out["live"] = {"alone": alone, "searching": busy, "searches_s": Searching.last_searches}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(out)
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(out, f, indent=1)
    with open(args.out + ".md", "w") as f:
        f.write(text)


def report(out: dict) -> str:
    size = out["size_bytes"]
    lines = ["| file | pattern | matching lines | grep s | search s | search GB/s | grep ÷ search (wall) "
             "| CPU s: grep, search | grep ÷ search (CPU) |", "|---|---|---|---|---|---|---|---|---|"]
    for label, nbytes, what in (("plain", size, "LC_ALL=C grep -c"), ("gz", out.get("gz_content_bytes", 0),
                                                                     "zcat | grep -c")):
        for row in out.get(label, []):
            lines.append(f"| {label} ({nbytes / 2**20:.0f} MiB{' decompressed' if label == 'gz' else ''}) "
                         f"| {row['pattern']} `{row['regex']}` | {row['matches']:,} | {row['grep_s']} ({what}) "
                         f"| {row['search_s']} | {nbytes / row['search_s'] / 1e9:.2f} | {row['ratio']}× "
                         f"| {row['grep_cpu_s']}, {row['search_cpu_s']} "
                         f"| {row['grep_cpu_s'] / max(row['search_cpu_s'], 1e-9):.2f}× |")
    live = out.get("live")
    if live:
        a, b = live["alone"], live["searching"]
        lines += ["", "| scenario B | p50 ms | p99 ms | max ms | lost | dup | server cores | others (cores) |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, m in (("alone", a), (f"with searches ({len(live['searches_s'])} done meanwhile)", b)):
            lines.append(f"| {name} | {m['p50_ms']} | {m['p99_ms']} | {m['max_ms']} | {m['lost']} | {m['dup']} "
                         f"| {m['server_cpu_cores']} | {m['other_cores']} |")
        if a.get("p99_ms") and b.get("p99_ms"):
            lines.append(f"\np99 with searches ÷ p99 alone: {b['p99_ms'] / a['p99_ms']:.2f}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
