"""Every route the app serves is in the README's route table, and every route the
table lists is served: the HTTP contract and the code cannot drift apart."""

import re

from conftest import ROOT
from logstream.app import create_app
from logstream.config import Config

README = (ROOT / "README.md").read_text()


def readme_routes() -> set[tuple[str, str]]:
    start = README.index("## HTTP API")
    table = README[start:README.index("Stream query parameters", start)]
    found = set()
    for method, path in re.findall(r"^\| `(GET|POST) ([^`?]+)", table, re.MULTILINE):
        found.add((method, path))
    return found


def app_routes(tmp_path) -> set[tuple[str, str]]:
    app = create_app(Config(root=tmp_path))
    found = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"<\1>", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method, path))
    return found


def test_every_route_of_the_app_is_in_the_readme(tmp_path):
    missing = app_routes(tmp_path) - readme_routes()
    assert not missing, f"routes missing from the README's table: {sorted(missing)}"


def test_every_route_in_the_readme_is_served(tmp_path):
    extra = readme_routes() - app_routes(tmp_path)
    assert not extra, f"README lists routes the app does not serve: {sorted(extra)}"
