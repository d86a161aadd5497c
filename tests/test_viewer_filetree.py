"""The sidebar with 100,000 files in 1,000 folders (issue 15). Only the rows on
screen are in the DOM, folders stay closed until opened, opening one lists its
contents, the name filter finds a file deep in the tree, and a file created
while the list is open appears (web/files.js, web/filetree.js)."""

from __future__ import annotations

import pytest

import browser as fixtures
from browser import Viewer
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page

SERVICES, NODES, PER_NODE = 10, 100, 100
TOTAL = SERVICES * NODES * PER_NODE
ROWS = "() => document.querySelectorAll('#tree li.file, #tree li.dir').length"
COUNT = "(n) => document.getElementById('file-count').textContent === `${n} files`"


def name(s: int, n: int, i: int) -> str:
    return f"svc-{s:02d}/node-{n:02d}/svc{s:02d}-n{n:02d}-{i:04d}.log"


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory):
    """One tree for the module's tests (making 100,000 files takes seconds); each test leaves it as it was."""
    root = tmp_path_factory.mktemp("big") / "logs"
    for s in range(SERVICES):
        for n in range(NODES):
            (root / f"svc-{s:02d}" / f"node-{n:02d}").mkdir(parents=True)
            for i in range(PER_NODE):
                (root / name(s, n, i)).write_bytes(b"x\n")
    return root


def opened(new_page, logserver, root) -> Viewer:
    viewer = Viewer(new_page(), logserver(root, "--heartbeat", "1")).open()
    viewer.page.wait_for_function(COUNT, arg=TOTAL, timeout=120_000)
    return viewer


def test_a_large_tree_shows_closed_folders_and_only_the_rows_on_screen(new_page, logserver, big_tree):
    page = opened(new_page, logserver, big_tree).page
    toggles = page.locator("#tree .dir-toggle")
    assert toggles.all_inner_texts() == [f"svc-{s:02d}/" for s in range(SERVICES)]
    assert all(t.get_attribute("aria-expanded") == "false" for t in toggles.all())
    page.click('#tree .dir-toggle[data-dir="svc-03"]')
    page.click('#tree .dir-toggle[data-dir="svc-03/node-04"]')
    first = page.locator(f'#tree li.file[data-path="{name(3, 4, 0)}"]')
    first.wait_for()
    assert page.get_attribute('#tree .dir-toggle[data-dir="svc-03/node-04"]', "aria-expanded") == "true"
    rows = page.evaluate(ROWS)
    assert rows < 60, f"{rows} rows in the DOM"
    # Scrolled down, the list draws the rows that come into view, and no more.
    page.evaluate("() => { document.getElementById('tree').scrollTop = 28 * 60; }")
    page.wait_for_selector(f'#tree li.file[data-path="{name(3, 4, 55)}"]')
    first.wait_for(state="detached")
    assert page.evaluate(ROWS) < 60
    page.click(f'#tree li.file[data-path="{name(3, 4, 55)}"] .name')
    assert page.evaluate("() => location.hash").startswith("#file=svc-03%2Fnode-04%2Fsvc03-n04-0055.log")


def test_the_filter_finds_a_deep_file_and_a_file_created_live_appears(new_page, logserver, big_tree):
    page = opened(new_page, logserver, big_tree).page
    page.fill("#file-filter", "svc07-n02-0099")
    page.wait_for_selector(f'#tree li.file[data-path="{name(7, 2, 99)}"]')
    assert page.locator("#tree li.file").count() == 1
    assert page.locator("#tree .dir-toggle").all_inner_texts() == ["svc-07/", "node-02/"]
    assert page.inner_text("#file-count") == f"1 of {TOTAL} files"
    page.fill("#file-filter", "arrived-later")
    page.wait_for_selector("#tree li.none")
    later = big_tree / "svc-05" / "node-05" / "arrived-later.log"
    try:
        append(later, "new")
        page.wait_for_selector('#tree li.file[data-path="svc-05/node-05/arrived-later.log"]', timeout=30_000)
        page.fill("#file-filter", "")
        page.wait_for_function(COUNT, arg=TOTAL + 1)
        assert page.evaluate(ROWS) == SERVICES
    finally:
        later.unlink(missing_ok=True)
