"""web/filetree.js, the sidebar's folder tree, against a model in Python
(hypothesis): after any sequence of files added and removed, the rows it
lists (all folders open) and the rows under any filter are those of a plain
recursive walk: folders first, then files, each by name; under a filter
only files whose path contains it, and only the folders that hold one."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import browser as fixtures
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

PATHS = st.builds(lambda dirs, name: "/".join([*dirs, name]),
                  st.lists(st.sampled_from(["d1", "d2", "D3", "d10"]), max_size=3),
                  st.sampled_from(["f.log", "G.log", "f2.log", "a"]))
FILTERS = st.sampled_from(["", "f", "d1", "D", "g.l", "d2/f", "zz", "/"])
# Files added and removed, and the rows listed (with a filter) now and then.
OPS = st.lists(st.one_of(st.tuples(st.sampled_from(["add", "add", "remove"]), PATHS),
                         st.tuples(st.just("list"), FILTERS)), max_size=40)

RUN = """async (ops) => {
    const { FileTree } = await import('./filetree.js');
    const tree = new FileTree();
    const out = [];
    for (const [op, arg] of ops) {
        if (op === 'add') tree.add(arg);
        else if (op === 'remove') tree.remove(arg);
        else {  // flatten() takes the filter in lower case
            const { rows, matches } = tree.flatten(() => true, arg.toLowerCase());
            out.push([rows.map(r => [r.kind, r.path, r.depth]), matches, tree.size]);
        }
    }
    return out;
}"""


def model(paths: set[str], query: str) -> tuple[list[list], int | None]:
    """The rows of a recursive walk over ``paths`` (all open), filtered by ``query`` (lower case)."""
    tree: dict = {}
    for p in paths:
        *dirs, name = p.split("/")
        node = tree
        for d in dirs:
            node = node.setdefault(("d", d), {})
        node[("f", name)] = p

    def walk(node: dict, prefix: str, depth: int) -> list[list]:
        rows: list[list] = []
        for name in sorted(n for kind, n in node if kind == "d"):
            inner = walk(node[("d", name)], f"{prefix}{name}/", depth + 1)
            if inner or not query:
                rows += [["dir", prefix + name, depth], *inner]
        for name in sorted(n for kind, n in node if kind == "f"):
            path = node[("f", name)]
            if query in path.lower():
                rows.append(["file", path, depth])
        return rows

    rows = walk(tree, "", 0)
    return rows, (sum(r[0] == "file" for r in rows) if query else None)


def test_the_folder_tree_lists_what_a_plain_walk_lists(viewer, logdir):
    append(logdir / "app.log", "x")
    page = viewer.open().page

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(OPS)
    def check(ops):
        paths: set[str] = set()
        want = []
        for op, arg in ops:
            if op == "list":
                want.append([*model(paths, arg.lower()), len(paths)])
            else:
                (paths.add if op == "add" else paths.discard)(arg)
        assert [[rows, matches, size] for rows, matches, size in page.evaluate(RUN, ops)] == want, ops

    check()
