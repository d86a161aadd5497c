"""procstat: what a server process tree costs, read from /proc.

CPU is utime+stime of the server and all its live descendants (frontail and the
floor run `tail` children; counting only the parent would flatter them), plus
cutime+cstime: the children each has waited for (logstream's search processes,
which end and are reaped within a search). Memory is
the main process's VmRSS/VmHWM: the peers' `tail` children are a few hundred KB
each and are listed separately as ``children_rss_kb``.
"""

from __future__ import annotations

import os

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, cpu seconds of it and its reaped children) of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(b")") + 2 :].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, (utime + stime + cutime + cstime) / _TICK


def descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                parents.setdefault(st[0], []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for child in parents.get(p, []):
            out.append(child)
            todo.append(child)
    return out


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in [pid, *descendants(pid)]:
        st = _stat(p)
        if st is not None:
            total += st[1]
    return total


def cpu_seconds(pid: int) -> float:
    st = _stat(pid)
    return st[1] if st else 0.0


def status_kb(pid: int, field: str) -> int:
    """A ``Vm*`` field of /proc/PID/status in KiB (VmRSS, VmHWM), 0 if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_rss_kb(pid: int) -> int:
    return sum(status_kb(p, "VmRSS") for p in descendants(pid))


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK
