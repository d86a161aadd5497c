"""The viewer and who is signed in, in Chromium: signed in with a scoped JWT it
shows the token's subject, lists and streams only what the token may read, and
signs out (the cookie gone, the sign-in form back); behind a trusted proxy it shows
the proxy's user and its sign-out goes on to --sign-out-url."""

from __future__ import annotations

import browser as fixtures
from browser import Viewer
from conftest import append
from jwt_keys import Keys

browser = fixtures.browser
new_page = fixtures.new_page


def test_a_jwt_sign_in_shows_the_subject_hides_other_files_and_signs_out(new_page, logserver, logdir, tmp_path):
    keys = Keys(tmp_path)
    append(logdir / "app.log", "visible line")
    append(logdir / "secret.log", "hidden line")
    server = logserver(logdir, "--jwt-secret-file", str(keys.secret_file))
    page = new_page()
    viewer = Viewer(page, server).open("file=app.log")
    page.wait_for_selector("#login:not([hidden])")
    assert page.is_hidden("#whoami")
    page.fill("#token", keys.token(sub="alice@example.com", logstream_paths=["app.log"]))
    page.keyboard.press("Enter")
    page.wait_for_selector("#login", state="hidden")
    viewer.wait_texts(["visible line"])
    page.wait_for_selector("#whoami:not([hidden])")
    assert page.text_content("#whoami") == "alice@example.com"
    assert "only the files you may read" in page.get_attribute("#whoami", "title")
    page.wait_for_selector('#tree li.file[data-path="app.log"]')
    assert page.query_selector('#tree li.file[data-path="secret.log"]') is None
    page.click("#logout")
    page.wait_for_selector("#login:not([hidden])")
    assert page.is_hidden("#whoami")
    assert page.evaluate("fetch('api/session').then(r => r.json()).then(s => s.authenticated)") is False


def test_behind_a_proxy_the_user_is_shown_and_sign_out_ends_at_the_proxy(new_page, logserver, logdir):
    append(logdir / "app.log", "proxied line")
    server = logserver(logdir, "--trusted-proxies", "1", "--user-header", "X-Forwarded-User",
                       "--sign-out-url", "/healthz")
    page = new_page(extra_http_headers={"X-Forwarded-User": "bob"})  # as the proxy adds it to every request
    viewer = Viewer(page, server).open("file=app.log")
    viewer.wait_texts(["proxied line"])
    page.wait_for_selector("#whoami:not([hidden])")
    assert page.text_content("#whoami") == "bob"
    with page.expect_navigation():
        page.click("#logout")
    assert page.url == f"{server.url}/healthz"


def test_a_proxy_user_without_a_scope_is_told_why(new_page, logserver, logdir, tmp_path):
    append(logdir / "app.log", "line")
    scopes = tmp_path / "scopes.toml"
    scopes.write_text('[users]\nalice = ["**"]\n')
    server = logserver(logdir, "--trusted-proxies", "1", "--user-header", "X-Forwarded-User", "--scopes", str(scopes))
    page = new_page(extra_http_headers={"X-Forwarded-User": "carol"})
    Viewer(page, server).open("file=app.log")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "carol may read no files here" in page.text_content("#login-error")
    assert page.is_hidden("#whoami")
