"""demo: a built-in writer that makes a directory look like a busy service's logs:
levels, ANSI colour, a multi-line stack trace now and then, an access log, a
JSON (NDJSON) service log and a logfmt worker log to try fields and ``where=``
on, and a logrotate-style rotation every few minutes. For the
``./run.sh`` demo only; never imported by the server itself."""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime

import gevent

PATHS = ["/", "/api/orders", "/api/orders/42", "/login", "/static/app.js", "/api/search?q=boots", "/healthz"]
AGENTS = ["curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "kube-probe/1.30"]
MESSAGES = [
    ("INFO", "request handled in {ms} ms"),
    ("INFO", "user {user} logged in from 10.0.{a}.{b}"),
    ("DEBUG", "cache hit ratio {ratio:.2f} over the last minute"),
    ("INFO", "order {order} placed: {items} items, total {total:.2f} EUR"),
    ("WARN", "slow query ({ms} ms): SELECT * FROM orders WHERE customer_id = {user}"),
    ("ERROR", "payment gateway timeout after {ms} ms (order {order})"),
    ("DEBUG", "connection pool: {items} active, {a} idle"),
]
COLOURS = {"DEBUG": "\x1b[2m", "INFO": "\x1b[32m", "WARN": "\x1b[33m", "ERROR": "\x1b[1;31m"}
TRACE = """Traceback (most recent call last):
  File "/srv/shop/payments.py", line 88, in charge
    response = gateway.post("/charge", json=payload, timeout=2.0)
  File "/srv/shop/gateway.py", line 41, in post
    raise GatewayTimeout(f"no answer in {timeout} s")
shop.gateway.GatewayTimeout: no answer in 2.0 s"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def app_line(rng: random.Random) -> str:
    level, template = rng.choice(MESSAGES)
    text = template.format(ms=rng.randint(3, 4000), user=rng.randint(1, 999), a=rng.randint(0, 255),
                           b=rng.randint(1, 254), ratio=rng.random(), order=rng.randint(1000, 99999),
                           items=rng.randint(1, 9), total=rng.random() * 300)
    line = f"{_now()} {COLOURS[level]}{level:<5}\x1b[0m [{rng.choice(['web-1', 'web-2'])}] {text}"
    if level == "ERROR" and rng.random() < 0.5:
        line += "\n" + TRACE
    return line


def access_line(rng: random.Random) -> str:
    status = rng.choices([200, 201, 304, 404, 500], [70, 5, 10, 10, 5])[0]
    stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (f'10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - [{stamp}] "GET {rng.choice(PATHS)} HTTP/1.1" '
            f'{status} {rng.randint(120, 50000)} "-" "{rng.choice(AGENTS)}"')


def json_line(rng: random.Random) -> str:
    """An NDJSON line as pino or a structlog JSON renderer writes it: time, level,
    msg, then nested fields (``http.status``) to filter with ``where=``."""
    status = rng.choices([200, 201, 404, 429, 500, 503], [70, 5, 10, 5, 5, 5])[0]
    level = "error" if status >= 500 else "warn" if status >= 400 else rng.choice(["info", "info", "debug"])
    record = {"time": _now(), "level": level, "msg": "request handled" if status < 400 else "request failed",
              "service": "api", "http": {"method": rng.choice(["GET", "POST"]), "path": rng.choice(PATHS),
                                         "status": status},
              "ms": rng.randint(1, 2500), "user": f"u-{rng.randint(1000, 1100)}"}
    if status >= 500:
        record["err"] = {"type": "UpstreamTimeout", "after_ms": rng.choice([1000, 2000])}
    return json.dumps(record)


def logfmt_line(rng: random.Random) -> str:
    level = rng.choices(["info", "warn", "error"], [85, 10, 5])[0]
    return (f'ts={_now()} level={level} msg="job {"done" if level == "info" else "retried"}" '
            f"job={rng.randint(1, 10**6)} queue={rng.choice(['mail', 'billing'])} took={rng.random() * 9:.2f}s")


def write_forever(root: str, rate: float = 4.0, rotate_every: float = 180.0, seed: int | None = None) -> None:
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, "worker"), exist_ok=True)
    app = os.path.join(root, "app.log")
    files = {
        app: app_line,
        os.path.join(root, "access.log"): access_line,
        os.path.join(root, "worker", "jobs.log"): lambda r: f"{_now()} INFO  job {r.randint(1, 10**6)} done in "
                                                            f"{r.random() * 9:.2f} s",
        os.path.join(root, "api.json"): json_line,
        os.path.join(root, "worker", "queue.log"): logfmt_line,
    }
    for path, make in files.items():
        with open(path, "a") as f:
            f.write("".join(make(rng) + "\n" for _ in range(150)))
    last_rotation = time.monotonic()
    while True:
        gevent.sleep(rng.expovariate(rate))
        path = rng.choice(list(files))
        with open(path, "a") as f:
            f.write(files[path](rng) + "\n")
        if time.monotonic() - last_rotation > rotate_every:
            last_rotation = time.monotonic()
            os.replace(app, app + ".1")  # logrotate's "create" mode: move, then a new file
            with open(app, "a") as f:
                f.write(f"{_now()} \x1b[32mINFO \x1b[0m [web-1] log file reopened after rotation\n")
