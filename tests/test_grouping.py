"""group=1, the pure part: what a continuation line is, and that grouping any
split of the same lines gives the same events, every line once, in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logstream.grouping import MAX_GROUP_LINES, Grouper, is_continuation

JAVA = [
    'Exception in thread "main" java.lang.IllegalStateException: boom',
    "\tat com.example.Foo.bar(Foo.java:10)",
    "\tat com.example.Main.main(Main.java:3)",
    "Caused by: java.io.IOException: disk",
    "\tat com.example.Disk.read(Disk.java:7)",
    "\t... 3 more",
]
PYTHON = [
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
    "    main()",
    "ValueError: bad",
]


def group_all(texts, splits=()):
    grouper = Grouper()
    out, start = [], 0
    for cut in [*sorted(min(c, len(texts)) for c in splits), len(texts)]:
        out += grouper.feed(texts[start:cut], list(range(start + 1, cut + 1)))
        start = max(start, cut)
    return out + grouper.flush()


@pytest.mark.parametrize(("text", "stamped", "expected"), [
    ("\tat com.example.Foo.bar(Foo.java:10)", False, True),
    ("at com.example.Foo.bar(Foo.java:10)", False, True),
    ("Caused by: java.io.IOException: x", False, True),
    ("\t... 3 more", False, True),
    ("    wrapped text", False, True),
    ("plain line", False, False),
    ("", False, False),
    ("plain line", True, True),
    ("2024-05-01T10:00:00Z next event", True, False),
])
def test_a_continuation_line_is_told_by_its_start(text, stamped, expected):
    assert is_continuation(text, stamped) is expected


def test_a_java_trace_and_a_python_traceback_are_one_event_each():
    groups = group_all(["start", *JAVA, *PYTHON, "after"])
    assert [g.texts for g in groups] == [["start"], JAVA, PYTHON, ["after"]]
    assert [g.end for g in groups] == [1, 7, 11, 12]


def test_in_a_timestamped_file_a_line_without_a_timestamp_continues():
    lines = ["2024-05-01 10:00:00 ERROR boom", "java.lang.Exception: x", "2024-05-01 10:00:01 INFO ok"]
    assert [g.texts for g in group_all(lines)] == [lines[:2], lines[2:]]


def test_continuation_lines_after_a_flush_come_out_late():
    grouper = Grouper()
    assert grouper.feed(JAVA[:2], [1, 2]) == []
    sent = grouper.flush()
    assert [(g.texts, g.end, g.late) for g in sent] == [(JAVA[:2], 2, False)]
    out = grouper.feed([*JAVA[2:], "next"], [3, 4, 5, 6, 7]) + grouper.flush()
    assert [(g.texts, g.end, g.late) for g in out] == [(JAVA[2:], 6, True), (["next"], 7, False)]


def test_a_resume_inside_a_group_starts_with_the_rest_of_it():
    grouper = Grouper(continuing=True)
    out = grouper.feed([*JAVA[3:], "next"], [4, 5, 6, 7]) + grouper.flush()
    assert [(g.texts, g.late) for g in out] == [(JAVA[3:], True), (["next"], False)]


LINES = st.lists(st.sampled_from([*JAVA, *PYTHON, "head", "", "  indented", "2024-05-01 10:00:00 stamped",
                                  "ValueError: x"]), max_size=40)


@given(LINES, st.lists(st.integers(0, 40), max_size=8))
def test_any_split_of_the_lines_gives_the_same_groups(texts, splits):
    whole = group_all(texts)
    assert group_all(texts, splits) == whole
    assert [t for g in whole for t in g.texts] == texts  # every line once, in order
    ends = [g.end for g in whole]
    assert ends == sorted(set(ends))
    for g in whole:  # an id is the end of the group's last line
        assert texts[g.end - 1] == g.texts[-1]


def test_a_traceback_cut_short_does_not_swallow_the_lines_after_it():
    lines = [*PYTHON[:2], "INFO next", "INFO after"]
    assert [g.texts for g in group_all(lines)] == [PYTHON[:2], ["INFO next"], ["INFO after"]]


def test_a_group_holds_at_most_max_group_lines_and_the_rest_comes_late():
    lines = ["head", *[f"\tat f{i}" for i in range(MAX_GROUP_LINES + 5)], "next"]
    groups = group_all(lines)
    assert [(len(g.texts), g.late) for g in groups] == [(MAX_GROUP_LINES, False), (6, True), (1, False)]
