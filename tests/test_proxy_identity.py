"""A trusted proxy's user as the identity (--user-header, --groups-header, --scopes,
--trusted-proxies), over real HTTP, the headers sent as the proxy would send them
(tests/test_deploy_forward_auth.py puts nginx's auth_request in front): each user
reads their entry's and their groups' paths; a user without an entry gets the
default, or 403 JSON without one; without --trusted-proxies a client's own header
names nobody; --ops-token opens /metrics and nothing else."""

import json
import subprocess
import sys

import pytest

from conftest import Server, append

SCOPES = """\
[users]
alice = ["nginx/*.log"]
[groups]
billing = ["billing/**"]
"""
OPS = "ops-token-for-scrapers"


def tree(root):
    for rel in ("nginx/access.log", "billing/2026/invoice.log", "public.log"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        append(root / rel, rel)
    return root


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    root = tree(tmp_path_factory.mktemp("proxied"))
    scopes = root.parent / "scopes.toml"
    scopes.write_text(SCOPES)
    srv = Server(root, ("--trusted-proxies", "1", "--user-header", "X-Forwarded-User", "--groups-header",
                        "X-Forwarded-Groups", "--scopes", str(scopes), "--ops-token", OPS,
                        "--sign-out-url", "/oauth2/sign_out"))
    yield srv
    srv.stop()


def files(srv, headers) -> tuple[int, object]:
    status, body = srv.json("/api/files", headers=headers)
    return status, sorted(f["path"] for f in body["files"]) if status == 200 else body


def test_each_user_reads_their_entry_and_their_groups(proxied):
    assert files(proxied, {"X-Forwarded-User": "alice"}) == (200, ["nginx/access.log"])
    bob = {"X-Forwarded-User": "bob", "X-Forwarded-Groups": "staff, billing"}
    assert files(proxied, bob) == (200, ["billing/2026/invoice.log"])
    both = {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "billing"}
    assert files(proxied, both) == (200, ["billing/2026/invoice.log", "nginx/access.log"])
    assert proxied.get("/api/download/nginx/access.log", headers=bob)[0] == 404
    assert proxied.get("/api/download/billing/2026/invoice.log", headers=bob)[0] == 200


def test_the_session_names_the_proxy_user_and_where_sign_out_goes(proxied):
    who = proxied.json("/api/session", headers={"X-Forwarded-User": "alice"})[1]
    assert (who["via"], who["user"], who["scoped"], who["sign_out_url"]) == ("proxy", "alice", True,
                                                                            "/oauth2/sign_out")


def test_a_user_without_an_entry_and_no_default_is_refused_with_403_json(proxied):
    for route in ("/api/files", "/api/stream/public.log", "/api/download/public.log"):
        status, _, body = proxied.get(route, headers={"X-Forwarded-User": "carol"})
        assert status == 403 and "carol" in json.loads(body)["error"], route
    who = proxied.json("/api/session", headers={"X-Forwarded-User": "carol"})[1]
    assert who["authenticated"] is False and "no entry" in who["error"]


def test_no_user_header_means_no_identity(proxied):
    status, _, body = proxied.get("/api/files")
    assert (status, json.loads(body)) == (401, {"error": "authentication required"})


def test_the_ops_token_opens_metrics_and_nothing_else(proxied):
    assert proxied.get("/metrics", headers={"Authorization": f"Bearer {OPS}"})[0] == 200
    assert proxied.get("/api/files", headers={"Authorization": f"Bearer {OPS}"})[0] == 401
    assert proxied.get("/metrics", headers={"X-Forwarded-User": "alice"})[0] == 403  # scoped
    assert proxied.get("/metrics")[0] == 401


def test_a_default_entry_covers_users_without_one(logserver, tmp_path):
    root = tree(tmp_path / "logs")
    scopes = tmp_path / "scopes.toml"
    scopes.write_text('default = ["public.log"]\n' + SCOPES)
    srv = logserver(root, "--trusted-proxies", "1", "--user-header", "X-Forwarded-User", "--scopes", str(scopes))
    assert files(srv, {"X-Forwarded-User": "carol"}) == (200, ["public.log"])
    assert files(srv, {"X-Forwarded-User": "alice"}) == (200, ["nginx/access.log"])


def test_without_trusted_proxies_a_forged_user_header_names_nobody(logserver, tmp_path):
    root = tree(tmp_path / "logs")
    srv = logserver(root, "--user-header", "X-Forwarded-User", "--token", "shared-token-for-tests")
    forged = {"X-Forwarded-User": "admin"}
    status, _, body = srv.get("/api/files", headers=forged)
    assert (status, json.loads(body)) == (401, {"error": "authentication required"})
    assert srv.json("/api/session", headers=forged)[1]["authenticated"] is False
    assert "ignored without --trusted-proxies" in srv.stderr()
    both = {**forged, "Authorization": "Bearer shared-token-for-tests"}
    assert srv.json("/api/session", headers=both)[1]["user"] is None  # the token's identity, not the header's


@pytest.mark.parametrize("content,message", [
    ("users = 3", "[users] must be a table"),
    ('[users]\nalice = ["../etc/*"]', "relative to the root"),
    ("not toml at all [", "is not TOML"),
    ('colours = ["x"]', "unknown key"),
])
def test_a_bad_scopes_file_stops_the_start_with_one_line(tmp_path, content, message):
    scopes = tmp_path / "scopes.toml"
    scopes.write_text(content)
    done = subprocess.run([sys.executable, "-m", "logstream", str(tmp_path), "--trusted-proxies", "1",
                           "--user-header", "X-Forwarded-User", "--scopes", str(scopes)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
