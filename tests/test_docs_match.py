"""The documentation matches the product: every link points somewhere, the README
names exactly what /healthz returns and every query parameter the server reads,
its curl examples look like the real output (the demo's lines carry colour
escapes) and show a token, and the README and docs/security.md agree with the
code about unreadable files (issue 17, "Docs that do not match the product")."""

from __future__ import annotations

import json
import random
import re

import pytest

from conftest import ROOT
from logstream import demo

DOCS = [ROOT / "README.md", ROOT / "web" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = (ROOT / "README.md").read_text()
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    body = re.sub(r"```.*?```", "", text, flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.*)$", body, re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_points_somewhere(doc):
    text = doc.read_text()
    broken = []
    for target in LINK.findall(re.sub(r"```.*?```", "", text, flags=re.S)):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        where = (doc.parent / path).resolve() if path else doc
        if not where.exists():
            broken.append(target)
        elif anchor and where.suffix == ".md" and anchor not in anchors(where.read_text()):
            broken.append(target)
    assert broken == []


def row(first_cell: str) -> str:
    return next(line for line in README.splitlines() if line.startswith(f"| {first_cell} |"))


def test_the_healthz_row_names_exactly_what_healthz_returns(server):
    status, health = server.json("/healthz")
    assert status == 200
    documented = set(re.findall(r"`([a-z_]+)`", row("`GET /healthz`").split("|")[2]))
    documented -= {"null", "app"}  # values, not fields
    assert documented == set(health), json.dumps(health)


def test_the_parameter_table_names_every_parameter_the_server_reads():
    source = (ROOT / "logstream" / "api" / "params.py").read_text()
    read = set(re.findall(r'(?:args\.get|int_arg|bool_arg)\((?:args, )?"(\w+)"', source))
    assert read >= {"lines", "format", "filter", "invert", "last_event_id"}, read
    table = set(re.findall(r"^\| `(\w+)(?:=[^`]*)?` \|", README, re.M))
    assert read <= table


def test_the_curl_examples_show_real_output_and_a_token():
    example = re.search(r"```console\n(.*?)```", README, re.S).group(1)
    # The demo writes colour escapes into app.log; the example shows them as curl | cat -v prints them.
    assert "\x1b[" in "".join(demo.app_line(random.Random(seed)) for seed in range(20))
    data = [line for line in example.splitlines() if line.startswith("data: ")]
    assert data and all("^[[" in line for line in data)
    assert all(re.fullmatch(r"id: [0-9a-f]+-\d+", line) for line in example.splitlines() if line.startswith("id:"))
    assert re.search(r"curl -N -H \"Authorization: Bearer \$\(cat /etc/logstream/token\)\"", README)


def test_readme_and_security_agree_that_unreadable_files_are_listed_as_such():
    security = (ROOT / "docs" / "security.md").read_text()
    assert "`readable: false`" in security
    assert '`"readable": false`' in row("`GET /api/files`")
    assert "readable: bool" in (ROOT / "logstream" / "paths.py").read_text()
