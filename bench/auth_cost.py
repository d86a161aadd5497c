"""auth_cost: what identities and path scopes (issue 19) cost, measured in one run.

1. ``Scope.allows`` per path, over ``--paths`` synthetic paths and three patterns.
2. Verifying one JWT (HS256, RS256, ES256): the price of every request that
   carries one (the Bearer header or the sign-in cookie).
3. ``GET /api/files`` over ``--files`` files on a real server (loopback), the
   median of ``--requests`` requests each: with the shared token, with an
   unscoped JWT and with a scoped JWT, reported as ratios to the shared token.

Usage: ``python bench/auth_cost.py [--files 10000] [--requests 15]``. Loopback
only; bounded in count (no load loop).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import Server  # noqa: E402
from jwt_keys import Keys  # noqa: E402
from logstream.jwt_auth import JwtVerifier  # noqa: E402
from logstream.scopes import Scope  # noqa: E402

TOKEN = "shared-token-for-the-bench"
PATTERNS = ("dir1*/**", "dir5/sub3/*.log", "**/file9*.log")


def per_path(count: int) -> float:
    paths = [f"dir{i % 100}/sub{i % 7}/file{i}.log" + (".1" if i % 5 == 0 else "") for i in range(count)]
    scope = Scope(PATTERNS)
    start = time.perf_counter()
    for p in paths:
        scope.allows(p)
    return (time.perf_counter() - start) / count * 1e6


def per_verify(keys: Keys, alg: str, n: int = 2000) -> float:
    key = {"HS256": {"secret_file": str(keys.secret_file)}, "RS256": {"public_key": str(keys.rsa_public)},
           "ES256": {"public_key": str(keys.ec_public)}}[alg]
    verifier, token = JwtVerifier(**key), keys.token(alg, logstream_paths=list(PATTERNS))
    start = time.perf_counter()
    for _ in range(n):
        verifier.verify(token)
    return (time.perf_counter() - start) / n * 1e6


def one_request(port: int, headers: dict) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    conn.request("GET", "/api/files", headers=headers)
    resp = conn.getresponse()
    resp.read()
    elapsed = time.perf_counter() - start
    conn.close()
    assert resp.status == 200, resp.status
    return elapsed


def medians_ms(port: int, modes: dict[str, dict], requests: int) -> dict[str, float]:
    """The modes take turns request by request, so load from elsewhere on the
    machine falls on each alike; the median of each, in ms."""
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(requests):
        for name, headers in modes.items():
            times[name].append(one_request(port, headers))
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="auth-bench-"))
    keys = Keys(work)
    print(f"Scope.allows: {per_path(args.paths):.2f} us per path ({args.paths:,} paths, 3 patterns)")
    for alg in ("HS256", "RS256", "ES256"):
        print(f"JWT verify {alg}: {per_verify(keys, alg):.0f} us")
    root = work / "logs"
    for i in range(args.files):
        d = root / f"dir{i % 100}" / f"sub{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"file{i}.log").write_text("x\n")
    server = Server(root, ("--token", TOKEN, "--jwt-secret-file", str(keys.secret_file)))
    try:
        modes = {"shared token": {"Authorization": f"Bearer {TOKEN}"},
                 "JWT, no scope": {"Authorization": f"Bearer {keys.token(ttl=3600)}"},
                 "JWT, 3 patterns": {"Authorization": f"Bearer {keys.token(ttl=3600, logstream_paths=list(PATTERNS))}"}}
        medians_ms(server.port, modes, 1)  # warm the page cache and the process
        results = medians_ms(server.port, modes, args.requests)
    finally:
        server.stop()
    base = results["shared token"]
    for name, ms in results.items():
        print(f"GET /api/files, {args.files:,} files, {name}: {ms:.1f} ms median ({ms / base:.2f}x)")


if __name__ == "__main__":
    main()
