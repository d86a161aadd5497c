"""The viewer's levels, in a real Chromium: a line's level is its own, and only a
continuation line (a stack trace, a wrapped message) inherits the level of the
record before it. A line that starts with its own timestamp, or a JSON object,
starts a new record. So "ERROR only" shows exactly the error records of syslog,
Python logging, nginx, klog and JSON lines (issue 12, item 11)."""

from __future__ import annotations

import pytest

import browser as fixtures
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

VISIBLE = """() => Array.from(document.querySelectorAll('#lines .ln'))
    .filter(l => l.offsetParent !== null).map(l => l.querySelector('.tx').textContent)"""

# Each sample: its lines, and the ones "ERROR only" must show. The lines after an
# error that start with their own timestamp are what the old inheritance painted red.
SAMPLES = {
    "syslog": ([
        "Nov 30 04:25:58 web-1 sshd[812]: Accepted publickey for deploy from 10.0.4.7 port 51514 ssh2",
        "Nov 30 04:25:59 web-1 nginx[1201]: 2026/11/30 04:25:59 [error] 1201#1201: *7 connect() failed "
        "(111: Connection refused) while connecting to upstream",
        "Nov 30 04:26:01 web-1 CRON[901]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
        "Nov 30 04:26:02 web-1 systemd[1]: Started session-42.scope - Session 42 of User deploy.",
        "Nov 30 04:26:03 web-1 kernel: [12345.678901] TCP: request_sock_TCP: Possible SYN flooding on port 443.",
        "Nov 30 04:26:04 web-1 nginx[1201]: 2026/11/30 04:26:04 [error] 1201#1201: *9 upstream timed out",
        "Nov 30 04:26:05 web-1 sshd[815]: pam_unix(sshd:session): session opened for user deploy(uid=1000)",
    ], [1, 5]),
    "python-logging": ([
        "2026-11-30 04:25:58,123 INFO shop.web: request handled in 42 ms",
        "2026-11-30 04:25:59,456 ERROR shop.payments: charge failed for order 4211",
        "Traceback (most recent call last):",
        '  File "/srv/shop/payments.py", line 88, in charge',
        '    response = gateway.post("/charge", json=payload, timeout=2.0)',
        "shop.gateway.GatewayTimeout: no answer in 2.0 s",
        "2026-11-30 04:26:00,001 shop.web: request handled in 12 ms",
        "2026-11-30 04:26:00,002 WARNING shop.db: slow query (1203 ms)",
    ], [1, 2, 3, 4, 5]),
    # nginx's container output: its error log and its access log in one stream.
    "nginx-access-and-error": ([
        '10.0.4.7 - - [30/Nov/2026:04:25:58 +0000] "GET /api/orders HTTP/1.1" 200 1204 "-" "curl/8.5.0"',
        "2026/11/30 04:25:59 [error] 31#31: *12 open() \"/usr/share/nginx/html/favicon.ico\" failed "
        "(2: No such file or directory)",
        '10.0.4.8 - - [30/Nov/2026:04:25:59 +0000] "GET /favicon.ico HTTP/1.1" 404 153 "-" "Firefox/128.0"',
        '10.0.4.9 - - [30/Nov/2026:04:26:00 +0000] "POST /api/pay HTTP/1.1" 502 157 "-" "curl/8.5.0"',
        "2026/11/30 04:26:00 [warn] 31#31: *13 an upstream response is buffered to a temporary file",
        '10.0.4.7 - - [30/Nov/2026:04:26:01 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0"',
    ], [1]),
    "json-lines": ([
        '{"time":"2026-11-30T04:25:58.123Z","level":"info","msg":"listening","port":8080}',
        '{"time":"2026-11-30T04:25:59.004Z","level":"error","msg":"db ping failed","err":"timeout"}',
        '{"time":"2026-11-30T04:25:59.100Z","msg":"retrying in 2 s"}',
        '{"time":"2026-11-30T04:26:01.100Z","level":"warn","msg":"db slow"}',
    ], [1]),
    "klog": ([
        "I1130 04:25:58.123456       1 main.go:42] starting controller",
        "E1130 04:25:59.000001       1 reflector.go:138] failed to watch *v1.Pod: connection refused",
        "I1130 04:26:00.500000       1 controller.go:88] synced 12 pods",
        "W1130 04:26:01.000000       1 lease.go:50] lease renewal slow",
    ], [1]),
    "java-stack-trace": ([
        "2026-11-30T04:25:58.123Z ERROR [main] c.e.Shop - request failed",
        "java.lang.IllegalStateException: closed",
        "\tat com.example.Shop.pay(Shop.java:42)",
        "\tat com.example.Shop.main(Shop.java:12)",
        "Caused by: java.io.IOException: broken pipe",
        "\t... 2 more",
        "2026-11-30T04:25:59.000Z INFO  [main] c.e.Shop - recovered",
    ], [0, 1, 2, 3, 4, 5]),
}



@pytest.mark.parametrize("name", SAMPLES)
def test_error_only_shows_exactly_the_error_records(viewer, logdir, name):
    lines, errors = SAMPLES[name]
    append(logdir / f"{name}.log", *lines)
    page = viewer.open(f"file={name}.log").page
    viewer.wait_texts(lines)
    for key in "234":  # WARN, INFO (and lines without a level), DEBUG off: ERROR only
        page.keyboard.press(key)
    page.wait_for_function(f"(n) => ({VISIBLE})().length === n", arg=len(errors))
    assert page.evaluate(VISIBLE) == [lines[i] for i in errors]


TIMESTAMPS = [
    ("2026-11-30T04:25:58.123Z app started", "2026-11-30T04:25:58.123Z"),
    ("2026-11-30T04:25:58+01:00 app started", "2026-11-30T04:25:58+01:00"),
    ("2026-11-30 04:25:58,123 INFO x", "2026-11-30 04:25:58,123"),
    ("2026/11/30 04:25:58 [error] 1#1: x", "2026/11/30 04:25:58"),
    ("Nov 30 04:25:58 host sshd[812]: x", "Nov 30 04:25:58"),
    ('10.0.0.1 - - [30/Nov/2026:04:25:58 +0000] "GET / HTTP/1.1" 200', "[30/Nov/2026:04:25:58 +0000]"),
    ("I1130 04:25:58.123456       1 main.go:42] x", "I1130 04:25:58.123456"),
    ("04:25:58.123 worker ready", "04:25:58.123"),
    ("  at com.example.Shop.pay(Shop.java:42)", None),
    ("Traceback (most recent call last):", None),
    ("order 20261130 04 placed", None),
]


def test_the_timestamp_detector_knows_the_common_formats(viewer, logdir):
    append(logdir / "app.log", "x")
    page = viewer.open().page
    got = page.evaluate("""async (table) => {
        const { detectTimestamp } = await import('./detect.js');
        return table.map(([text]) => { const t = detectTimestamp(text); return t && text.slice(t.start, t.end); });
    }""", TIMESTAMPS)
    assert list(zip([t for t, _ in TIMESTAMPS], got, strict=True)) == TIMESTAMPS
