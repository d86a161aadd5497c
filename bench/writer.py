"""writer: appends ``seq=N t=<time_ns> payload`` lines to a file, paced or flat out.

Each line (or each group of ``--group`` lines in a burst) is one ``os.write`` on an
O_APPEND descriptor, so it is in the page cache, visible to inotify and to readers,
the moment its timestamp is taken. Pacing is against an absolute schedule: a late
line is written at once, never skipped, and its latency is measured from the
moment it really reached the file. Prints one JSON line when finished.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", nargs="+", help="one file, or several: line N goes to file N mod their number")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate", type=float, default=0, help="lines/s; 0 = as fast as possible")
    ap.add_argument("--group", type=int, default=1, help="lines per write (same timestamp)")
    ap.add_argument("--payload", type=int, default=64, help="bytes of filler per line")
    ap.add_argument("--json", action="store_true",
                    help='NDJSON lines {"msg": "seq=N t=T ...", "level": ...}: every 10th is "warn", the rest "info"')
    args = ap.parse_args()
    filler = ("x" * args.payload).encode()
    fds = [os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) for path in args.path]
    interval = args.group / args.rate if args.rate else 0.0
    start = time.perf_counter()
    first_ns = time.time_ns()
    late = 0
    seq = 0
    while seq < args.count:
        if interval:
            due = start + (seq // args.group) * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.005:
                late += 1
        n = min(args.group, args.count - seq)
        t = b" t=%d " % time.time_ns()
        if args.json:
            lines = b"".join([b'{"msg":"seq=%d%s%s","level":"%s","service":"bench"}\n'
                              % (s, t, filler, b"warn" if s % 10 == 0 else b"info") for s in range(seq, seq + n)])
        else:
            lines = b"".join([b"seq=%d%s%s\n" % (s, t, filler) for s in range(seq, seq + n)])
        os.write(fds[(seq // args.group) % len(fds)], lines)
        seq += n
    last_ns = time.time_ns()
    for fd in fds:
        os.close(fd)
    print(json.dumps({"written": seq, "first_ns": first_ns, "last_ns": last_ns,
                      "seconds": (last_ns - first_ns) / 1e9, "late_writes": late}), flush=True)


if __name__ == "__main__":
    main()
