"""Per-user path scopes, over real HTTP: a file outside the caller's scope does not
exist for them. It is missing from /api/files and its live events, and every route
that takes a path (walked from the app's url_map, so routes added later are
covered) answers exactly as for a missing file, a merged stream mixing an allowed
and a forbidden path included. The scope comes from a JWT's ``logstream_paths``
claim here; tests/test_proxy_identity.py gives it through a proxy's user.
Properties: for random trees and random glob scopes the paths served are exactly
those the scope allows (and ``Scope.allows`` agrees with a separate glob matcher)."""

import fnmatch
import itertools
import os
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Server, append, wait_for
from jwt_keys import Keys, bearer
from logstream.app import create_app
from logstream.config import Config
from logstream.scopes import Scope

SCOPE = ["nginx/*.log", "public.log"]
MARKER = "SECRET-MARKER-7f3a"
ALLOWED = ["nginx/access.log", "nginx/access.log.1", "nginx/error.log", "public.log"]
FORBIDDEN = "billing/secret.log"
MISSING = "billing/nothere.log"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("scoped")
    for rel in ALLOWED:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        append(root / rel, f"line of {rel}")
    (root / "billing" / "deep").mkdir(parents=True)
    append(root / FORBIDDEN, MARKER)
    append(root / "billing" / "deep" / "x.log", MARKER)
    append(root / "nginx" / "notes.txt", MARKER)
    os.symlink("../billing/secret.log", root / "nginx" / "sneaky.log")  # in scope by name, not by target
    return root


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("scopekeys"))


@pytest.fixture(scope="module")
def srv(tree, keys):
    server = Server(tree, ("--jwt-secret-file", str(keys.secret_file), "--heartbeat", "1"))
    yield server
    server.stop()


def scoped(keys, patterns=SCOPE) -> dict:
    return bearer(keys.token(sub="web-team", logstream_paths=patterns))


def listed(srv, headers) -> set[str]:
    status, body = srv.json("/api/files", headers=headers)
    assert status == 200, body
    return {f["path"] for f in body["files"]}


def test_the_file_list_holds_exactly_the_scope(srv, keys, tree):
    assert listed(srv, scoped(keys)) == set(ALLOWED)
    assert FORBIDDEN in listed(srv, bearer(keys.token()))  # no claim: everything
    assert listed(srv, scoped(keys, [])) == set()


def answer(srv, url: str, headers: dict) -> tuple[int, bytes]:
    """Status and body of any route: a JSON answer whole, an event stream up to its
    first event (a stream never ends by itself)."""
    client = srv.stream(url, headers=headers)
    try:
        if client.status == 200 and client.headers.get("content-type", "").startswith("text/event-stream"):
            client.read_until(lambda c: [e for e in c.events if e.type != "message" or e.data], message="an event")
        else:
            length = int(client.headers.get("content-length", "0"))
            client.read_until(lambda c: len(c.raw) >= length or c.ended, message="the body")
        return client.status, bytes(client.raw)
    finally:
        client.close()
        srv.clients.remove(client)


def path_routes(root) -> list[str]:
    """Every GET route of the app, as a URL template with ``{path}`` where a path
    goes: in the URL for a rule with a path argument, else as ``?path=``."""
    app = create_app(Config(root=root))
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = re.sub(r"<(?:path:)?\w+>", "{path}", rule.rule)
        if "{path}" not in url:
            url += "?path={path}"
        out.append(url + ("&" if "?" in url else "?") + "q=SECRET&lines=10")
    return out


def test_the_route_walk_sees_the_path_taking_routes(tree):
    routes = path_routes(tree)
    for expected in ("/api/stream/{path}", "/api/download/{path}", "/api/stream?path={path}"):
        assert any(r.startswith(expected) for r in routes), routes


@pytest.mark.parametrize("forbidden", [FORBIDDEN, "billing/deep/x.log", "nginx/notes.txt", "nginx/sneaky.log",
                                       "nginx/../billing/secret.log", "billing", "./billing/secret.log"])
def test_every_route_answers_a_forbidden_path_as_a_missing_one(srv, keys, tree, forbidden):
    headers = scoped(keys)
    for template in path_routes(tree):
        got = answer(srv, template.format(path=quote(forbidden)), headers)
        missing = answer(srv, template.format(path=quote(MISSING)), headers)
        assert MARKER.encode() not in got[1], template
        assert got == (missing[0], missing[1].replace(MISSING.encode(), forbidden.encode())), (template, got, missing)


def test_allowed_paths_are_served_on_the_same_routes(srv, keys):
    headers = scoped(keys)
    assert srv.stream("/api/stream/nginx/access.log", headers=headers).wait_lines(1) == ["line of nginx/access.log"]
    assert srv.get("/api/download/nginx/access.log.1", headers=headers)[0] == 200  # a rotation of an allowed log
    assert srv.get(f"/api/download/{FORBIDDEN}", headers=bearer(keys.token()))[2] == (MARKER + "\n").encode()


def test_a_merged_stream_mixing_allowed_and_forbidden_paths_is_a_404_like_a_missing_file(srv, keys):
    headers = scoped(keys)
    got = answer(srv, f"/api/stream?path=nginx/access.log&path={FORBIDDEN}", headers)
    missing = answer(srv, f"/api/stream?path=nginx/access.log&path={MISSING}", headers)
    assert got[0] == missing[0] == 404
    assert got[1] == missing[1].replace(MISSING.encode(), FORBIDDEN.encode())
    both = srv.stream("/api/stream?path=nginx/access.log&path=public.log", headers=headers)
    texts = sorted(line.split("\n")[-1] for line in both.wait_lines(2))  # merged lines: label, then text
    assert texts == ["line of nginx/access.log", "line of public.log"]


def test_a_file_followed_by_someone_else_is_still_out_of_scope(srv, keys):
    """The topic of a file another client follows exists already: the gate is still asked."""
    everyone = srv.stream(f"/api/stream/{FORBIDDEN}", headers=bearer(keys.token()))
    assert everyone.wait_lines(1) == [MARKER]
    assert answer(srv, f"/api/stream/{FORBIDDEN}", scoped(keys))[0] == 404


def test_live_file_events_never_show_a_file_outside_the_scope(srv, keys, tree):
    events = srv.stream("/api/files/events", headers=scoped(keys))
    events.read_until(lambda c: c.of_type("snapshot"), message="snapshot")
    assert MARKER not in events.raw.decode() and "billing" not in events.raw.decode()
    append(tree / "billing" / "new.log", MARKER)  # first, so it would come first
    append(tree / "nginx" / "leaving.log", "x")
    os.rename(tree / "nginx" / "leaving.log", tree / "billing" / "arrived.log")  # out of scope: a deletion
    append(tree / "billing" / "coming.log", "x")
    os.rename(tree / "billing" / "coming.log", tree / "nginx" / "came.log")  # into scope: a creation
    append(tree / "nginx" / "new.log", "y")

    def seen(kind, path):
        return any(e.type == kind and f'"{path}"' in e.data for e in events.events)

    events.read_until(lambda c: seen("created", "nginx/new.log"), message="nginx/new.log created")
    assert seen("created", "nginx/came.log") and seen("deleted", "nginx/leaving.log")
    assert "billing" not in events.raw.decode(), events.raw.decode()


def test_metrics_needs_an_unscoped_identity(srv, keys):
    status, body = srv.json("/metrics", headers=scoped(keys))
    assert status == 403 and "scope" in body["error"]
    assert srv.get("/metrics", headers=bearer(keys.token()))[0] == 200


def test_a_pattern_that_is_not_relative_refuses_the_token(srv, keys):
    for bad in (["/etc/*"], ["../*"], [""], [3]):
        assert srv.get("/api/files", headers=scoped(keys, bad))[0] == 401


@pytest.mark.parametrize("patterns,rel,allowed", [
    (["**"], "..hidden.log", True),  # a name, not the parent
    (["**"], "../etc/passwd", False),
    (["**"], "/etc/passwd", False),
    (["a/*.log"], "a/./x.log", True),
    (["a/*.log"], "a/b/../x.log", True),
    (["a/*.log"], "a/x.log-20261129.gz", True),  # a rotation of a/x.log
    (["a/*.log"], "a/x.log.gz", False),  # compressed, not rotated: another file
    (["a/**"], "a", False),
    (["**/x.log"], "x.log", True),
])
def test_scope_edges(patterns, rel, allowed):
    assert Scope(tuple(patterns)).allows(rel) is allowed


# -- properties ------------------------------------------------------------------------------------

SEGMENTS = ["x", "y", "z"]
NAMES = ["a", "b.log", "c.txt", "d-1.log"]
ROTATIONS = ["", ".1", ".2.gz", "-20261129"]
PATTERN_PARTS = ["*", "**", "x", "y", "z", "*.log", "b.log", "?.txt", "a", "*-1*"]


def glob_match(pattern: list[str], path: list[str]) -> bool:
    """A second reading of the pattern language, segment by segment (fnmatch within
    one name): ``**`` last is one or more names, elsewhere zero or more directories."""
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        if not rest:
            return len(path) >= 1
        return any(glob_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and glob_match(rest, path[1:])


def oracle(patterns: list[str], rel: str) -> bool:
    candidates = [rel] + [rel[: -len(s)] for s in ROTATIONS if s and rel.endswith(s)]
    return any(glob_match(p.split("/"), c.split("/")) for p in patterns for c in candidates)


trees = st.lists(st.tuples(st.lists(st.sampled_from(SEGMENTS), max_size=2), st.sampled_from(NAMES),
                          st.sampled_from(ROTATIONS)), min_size=1, max_size=12).map(
    lambda items: sorted({"/".join([*dirs, name + rot]) for dirs, name, rot in items}))
patterns = st.lists(st.lists(st.sampled_from(PATTERN_PARTS), min_size=1, max_size=3).map("/".join), max_size=3)


@settings(max_examples=500, deadline=None)
@given(tree=trees, globs=patterns)
def test_scope_allows_what_a_separate_glob_matcher_allows(tree, globs):
    scope = Scope(tuple(globs))
    for rel in tree:
        assert scope.allows(rel) == oracle(globs, rel), (globs, rel)


_case = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees, globs=patterns)
def test_the_paths_any_route_serves_are_the_paths_the_scope_allows(srv, keys, tree, globs):
    case = f"case{next(_case)}"
    root = srv.root / case
    for rel in tree:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        append(root / rel, rel)
    headers = scoped(keys, [f"{case}/{g}" for g in globs])
    allowed = {f"{case}/{rel}" for rel in tree if oracle(globs, rel)}
    everything = bearer(keys.token())  # no claim: the whole index, once its events brought the new files
    wait_for(lambda: {f"{case}/{rel}" for rel in tree} <= listed(srv, everything), message="the files indexed")
    assert {p for p in listed(srv, headers) if p.startswith(case + "/")} == allowed
    for rel in tree:
        path = f"{case}/{rel}"
        status, _, body = srv.get(f"/api/download/{quote(path)}", headers=headers)
        assert (status == 200) == (path in allowed), (path, globs, status)
        if path not in allowed:
            assert status == 404 and body == srv.get(f"/api/download/{quote(path)}.missing", headers=headers)[
                2].replace(b".missing", b"")
    if allowed:
        first = sorted(allowed)[0]
        if not first.endswith(".gz"):
            stream = srv.stream(f"/api/stream/{quote(first)}?lines=1", headers=headers)
            assert stream.wait_lines(1) == [first[len(case) + 1:]]
            stream.close()
            srv.clients.remove(stream)
