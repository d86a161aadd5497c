"""watchdog_cost: what watchdog alone costs per file-system event, the floor under
scenario A's server CPU.

    .venv/bin/python bench/watchdog_cost.py [--count 10000] [--rate 1000]

For each mode, a fresh process starts one watchdog ``Observer`` on a temporary
directory with a handler that only counts events, and ``bench/writer.py`` appends
``--count`` lines at ``--rate`` lines/s (one write, so one inotify IN_MODIFY, per
line). The process's own CPU time over the writing window, divided by the events
its handler saw, is watchdog's cost per event:

- ``gevent``: after ``patch_all(queue=False)``, as logstream runs it (watchdog's
  threads are greenlets);
- ``threads``: unpatched, watchdog's threads are OS threads.

logstream's server does this for every write to a followed file, before any of
its own work; scenario A (one client, 1,000 lines/s) reports the server's total
CPU per line. Prints one JSON object per mode and a summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))


def measure(mode: str, count: int, rate: float) -> dict:
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all(queue=False)
    import resource
    import time

    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    seen = [0]

    class Count(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            seen[0] += 1

    with tempfile.TemporaryDirectory(prefix="watchdog-cost-") as root:
        path = os.path.join(root, "app.log")
        open(path, "w").close()
        observer = Observer()
        observer.schedule(Count(), root, recursive=True)
        observer.start()
        time.sleep(0.5)
        before = resource.getrusage(resource.RUSAGE_SELF)
        # Under gevent, subprocess.run waits cooperatively: the observer's
        # greenlets keep running while the writer writes.
        subprocess.run([sys.executable, os.path.join(BENCH, "writer.py"), path, "--count", str(count),
                        "--rate", str(rate)], check=True, capture_output=True, timeout=count / rate + 60)
        time.sleep(0.5)  # let the last events through
        after = resource.getrusage(resource.RUSAGE_SELF)
        observer.stop()
        observer.join(5)
    events = seen[0]
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    return {
        "mode": mode, "lines": count, "rate": rate, "events": events,
        "user_s": round(user, 3), "sys_s": round(system, 3),
        "us_per_event": round((user + system) / events * 1e6, 1) if events else None,
        "cores_at_rate": round((user + system) / (count / rate), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--mode", choices=["gevent", "threads"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode:
        print(json.dumps(measure(args.mode, args.count, args.rate)), flush=True)
        return
    results = []
    for mode in ("gevent", "threads"):
        proc = subprocess.run([sys.executable, __file__, "--mode", mode, "--count", str(args.count),
                               "--rate", str(args.rate)], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"watchdog_cost: the {mode} run failed: {proc.stderr.strip()[-500:]}")
        results.append(json.loads(proc.stdout))
        print(proc.stdout.strip())
    print(" | ".join(f"{r['mode']}: {r['us_per_event']} µs CPU per event, {r['events']} events for "
                     f"{r['lines']} writes, {r['cores_at_rate']} cores at {r['rate']:g} writes/s" for r in results))


if __name__ == "__main__":
    main()
