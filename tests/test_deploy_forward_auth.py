"""docs/deploy.md "Behind an identity-aware proxy": its nginx block runs for real
(auth_request), in front of logstream started as the section says, with a
forward-auth service that speaks oauth2-proxy's protocol in place of oauth2-proxy
(``/oauth2/auth`` answers 202 with ``X-Auth-Request-User`` and
``X-Auth-Request-Groups`` for a signed-in browser, 401 otherwise). A browser
without a session is refused by nginx; a signed-in one reads its scope and
streams; a client's own ``X-Forwarded-User`` is replaced by the proxy's user."""

import http.client
import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ROOT, SSEClient, append, free_port, wait_for
from test_deploy import run_nginx

SESSIONS = {"s-alice": ("alice", "staff"), "s-bob": ("bob", "billing,staff")}
SCOPES = '[users]\nalice = ["nginx/**"]\n[groups]\nbilling = ["billing/**"]\n'


def forward_auth_block() -> str:
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text.split("## Behind an identity-aware proxy", 1)[1]
    return re.search(r"```nginx\n(.*?)```", section, re.S).group(1)


def logstream_flags() -> list[str]:
    """The section's logstream command line, from its flags on."""
    text = (ROOT / "docs" / "deploy.md").read_text().split("## Behind an identity-aware proxy", 1)[1]
    command = re.search(r"^logstream /var/log (.*?)\n\n?```", text, re.S | re.M).group(1)
    return re.findall(r"(--[\w-]+)(?:\s+('[^']*'|[^\s\\]+))?", command)


class ForwardAuth(BaseHTTPRequestHandler):
    """oauth2-proxy's side of auth_request: the session cookie names the user."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        cookie = self.headers.get("Cookie", "")
        session = SESSIONS.get(cookie.partition("_oauth2_proxy=")[2].split(";")[0])
        if self.path.startswith("/oauth2/auth"):
            self.send_response(202 if session else 401)
            if session:
                self.send_header("X-Auth-Request-User", session[0])
                self.send_header("X-Auth-Request-Groups", session[1])
        else:
            self.send_response(200)  # the sign-in page
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def stack(logserver, logdir, tmp_path):
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not shutil.which(binary):
        pytest.fail("nginx is not installed (./run.sh test installs it)")
    for rel in ("nginx/access.log", "billing/invoice.log"):
        (logdir / rel).parent.mkdir(exist_ok=True)
        append(logdir / rel, f"line of {rel}")
    scopes = tmp_path / "scopes.toml"
    scopes.write_text(SCOPES)
    args = []
    for flag, value in logstream_flags():
        args += [flag] + ([str(scopes) if flag == "--scopes" else value.strip("'")] if value else [])
    assert "--user-header" in args and "--trusted-proxies" in args
    srv = logserver(logdir, *args, "--heartbeat", "1")
    auth = ThreadingHTTPServer(("127.0.0.1", 0), ForwardAuth)
    threading.Thread(target=auth.serve_forever, daemon=True).start()
    port = free_port()
    block = forward_auth_block().replace("127.0.0.1:4180", f"127.0.0.1:{auth.server_port}")
    block = block.replace("127.0.0.1:8080", f"127.0.0.1:{srv.port}")
    (tmp_path / "nginx").mkdir()
    proc = run_nginx(binary, tmp_path / "nginx", f"server {{ listen 127.0.0.1:{port};\n{block}\n}}")
    yield port
    proc.terminate()
    proc.wait(10)
    proc.stderr.close()
    auth.shutdown()
    auth.server_close()


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def listening(port):
    try:
        return get(port, "/logs/api/session")
    except OSError:
        return None


def test_without_a_proxy_session_nginx_refuses_even_a_forged_user(stack):
    wait_for(lambda: listening(stack), message="nginx to listen")
    assert get(stack, "/logs/api/files")[0] == 403
    assert get(stack, "/logs/api/files", {"X-Forwarded-User": "alice"})[0] == 403


def test_a_signed_in_user_reads_their_scope_and_cannot_claim_another(stack):
    wait_for(lambda: listening(stack), message="nginx to listen")
    alice = {"Cookie": "_oauth2_proxy=s-alice"}
    status, body = get(stack, "/logs/api/files", alice)
    assert status == 200 and [f["path"] for f in json.loads(body)["files"]] == ["nginx/access.log"]
    status, body = get(stack, "/logs/api/session", {**alice, "X-Forwarded-User": "bob"})
    assert json.loads(body)["user"] == "alice"  # nginx replaced the client's header
    bob = {"Cookie": "_oauth2_proxy=s-bob", "X-Forwarded-Groups": "admins"}
    status, body = get(stack, "/logs/api/files", bob)
    assert [f["path"] for f in json.loads(body)["files"]] == ["billing/invoice.log"]
    assert get(stack, "/logs/api/download/nginx/access.log", bob)[0] == 404
    stream = SSEClient(stack, "/logs/api/stream/nginx/access.log", alice, 10)
    try:
        assert stream.status == 200 and stream.wait_lines(1) == ["line of nginx/access.log"]
    finally:
        stream.close()
