"""The pure layer of structured logs: a line's fields (JSON, logfmt), the where=
clause language, and the one timestamp detector. Property tests against
reference definitions; no input may raise."""

import json
import math
from datetime import UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstream import timestamps
from logstream.errors import BadRequest
from logstream.fields import SEVERITY, format_logfmt, level_name, lookup, parse, parse_logfmt
from logstream.query import OPS, Clause, Query

json_scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=20) | \
    st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,11}", fullmatch=True)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_any_json_object_rendered_as_a_line_parses_back_to_the_same_fields(obj):
    parsed = parse(json.dumps(obj))
    assert parsed is not None and parsed.kind == "json" and parsed.values == obj


@given(st.dictionaries(keys, st.text(st.characters(blacklist_categories=("Cs",)), max_size=15), min_size=2,
                       max_size=6))
def test_logfmt_round_trips(values):
    line = format_logfmt(values)
    assert parse_logfmt(line) == values
    assert parse(line).values == values


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_no_line_makes_the_parsers_raise(line):
    parse(line)
    parse_logfmt(line)
    timestamps.detect(line)


zones = st.one_of(st.just("Z"), st.from_regex(r"[+-]\d{2}:?\d{2}", fullmatch=True))
stamps = st.builds("{}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}".format, st.integers(0, 9999).map("{:04d}".format),
                   st.integers(0, 99), st.integers(0, 99), st.sampled_from("T "), st.integers(0, 99),
                   st.integers(0, 99), st.integers(0, 99), st.one_of(st.just(""), zones))


@settings(max_examples=300)
@given(stamps, st.one_of(st.from_regex(r"\d{1,400}(\.\d{1,5})?(ms|s|m|h|d|w)", fullmatch=True), stamps))
def test_no_stamp_makes_the_detector_raise_and_every_time_a_client_gives_is_one_utc_can_say(stamp, asked):
    timestamps.detect(stamp + " x")  # a zone no clock has (+99:00) is no time, not an exception
    timestamps.detect(f"[30/Nov/2026:04:25:58 {stamp[-6:].replace(':', '')}] x")
    parse(json.dumps({"time": stamp, "msg": "x"}))
    try:
        when = timestamps.parse_time(asked)
    except ValueError:
        return  # a 400 naming the parameter
    assert timestamps.utc(when)


@pytest.mark.parametrize("line,kind,level,message", [
    ('{"level":"WARNING","msg":"disk 91% full"}', "json", "warn", "disk 91% full"),
    ('{"severity":"ERROR","message":"boom"}', "json", "error", "boom"),
    ('{"log":{"level":"info"},"message":"ecs"}', "json", "info", "ecs"),
    ('{"log.level":"debug","event":"ecs flat"}', "json", "debug", "ecs flat"),
    ('{"levelname":"CRITICAL","msg":"py"}', "json", "fatal", "py"),
    ('{"level":30,"msg":"pino info"}', "json", "info", "pino info"),
    ('{"level":50,"msg":"bunyan error"}', "json", "error", "bunyan error"),
    ('level=warn msg="slow query" ms=1203', "logfmt", "warn", "slow query"),
    ('lvl=eror msg=x', "logfmt", "error", "x"),
    ('{"msg": "no level"}', "json", None, "no level"),
])
def test_time_level_and_message_are_picked_by_the_names_loggers_use(line, kind, level, message):
    parsed = parse(line)
    assert (parsed.kind, parsed.level, parsed.message) == (kind, level, message)


@pytest.mark.parametrize("line", ["plain text", "user logged in id=5", "{not json", "[1, 2]", '"a string"',
                                  'a=b "c"', 'k="unclosed', "", "{}x"])
def test_lines_that_are_not_structured_have_no_fields(line):
    assert parse(line) is None


def test_json_time_fields_in_rfc3339_and_epoch_seconds_and_milliseconds():
    t = 1796012758.0  # 2026-11-30T04:25:58Z
    for value in ('"2026-11-30T04:25:58Z"', str(int(t)), str(int(t * 1000))):
        assert parse('{"time": ' + value + ', "msg": "x"}').time == pytest.approx(t)
    assert parse('{"@timestamp": "2026-11-30T05:25:58+01:00"}').time == pytest.approx(t)


@pytest.mark.parametrize("line,expected", [
    ("2026-11-30T04:25:58.123Z INFO x", "2026-11-30T04:25:58.123Z"),
    ("2026-11-30 04:25:58,123 ERROR root: x", "2026-11-30T04:25:58.123Z"),
    ("2026-11-30 04:25:58+01:00 x", "2026-11-30T03:25:58.000Z"),
    ("Nov 30 04:25:58 host sshd[812]: Accepted publickey", "2026-11-30T04:25:58.000Z"),
    ("<34>1 2026-11-30T04:25:58.003Z host app - - - x", "2026-11-30T04:25:58.003Z"),
    ('10.0.0.1 - - [30/Nov/2026:04:25:58 +0000] "GET / HTTP/1.1" 200', "2026-11-30T04:25:58.000Z"),
    ("2026/11/30 04:25:58 [error] 812#812: *1 open() failed", "2026-11-30T04:25:58.000Z"),
    ("I1130 04:25:58.123456    1 main.go:42] started", "2026-11-30T04:25:58.123Z"),
])
def test_the_timestamp_detector_knows_the_common_formats(line, expected):
    assert timestamps.utc(timestamps.detect(line, year=2026, tz=UTC)) == expected


@pytest.mark.parametrize("line", ["    at com.example.Foo(Foo.java:1)", "Traceback (most recent call last):",
                                  "Caused by: x", "ERROR no time here", '{"time": "2026-11-30T04:25:58Z"}'])
def test_lines_without_a_timestamp_have_none(line):
    assert timestamps.detect(line) is None


# -- the where= clause language, against a reference evaluator ----------------------------------

def reference(field, op, value, values):
    """The README's definition, written as plainly as possible."""
    if field == "level":
        got = level_name(values.get("level"))
        if got is None:
            return False
        if op in ("<", "<=", ">", ">="):
            a, b = SEVERITY[got], SEVERITY[level_name(value)]
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    else:
        try:
            got = lookup(values, field)
        except KeyError:
            return False

    def text(v):
        if isinstance(v, str):
            return v
        if isinstance(v, bool) or v is None:
            return json.dumps(v)
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    if op in ("~", "!~"):
        import re
        return (re.search(value, text(got)) is not None) == (op == "~")
    if field == "level" and op in ("=", "!="):
        return (got == (level_name(value) or value.lower())) == (op == "=")

    def num(v):
        if isinstance(v, bool):
            return None
        if isinstance(v, (int, float)):
            return float(v)
        try:
            return float(v) if v.strip() and not v.strip().lower().startswith(("n", "i", "+")) else None
        except (ValueError, AttributeError):
            return None

    a, b = num(got), num(value)
    if b is not None and a is None and op in ("<", "<=", ">", ">="):
        return False
    if a is None or b is None:
        a, b = text(got), text(value)
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


field_names = st.sampled_from(["a", "b", "level", "http.status"])
field_values = st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y", "5", "warn", "error", "info", "-2"]),
                         st.booleans(), st.none())


@settings(max_examples=400)
@given(st.dictionaries(st.sampled_from(["a", "b", "level"]), field_values, max_size=3),
       st.one_of(st.none(), st.integers(-5, 600)), field_names, st.sampled_from(OPS),
       st.sampled_from(["x", "5", "-2", "warn", "error", "info", "3"]))
def test_clauses_agree_with_a_reference_evaluator(values, status, field, op, value):
    if status is not None:
        values = {**values, "http": {"status": status}}
    if field == "level" and op in ("<", "<=", ">", ">=") and level_name(value) is None:
        with pytest.raises(BadRequest):
            Clause(f"{field}{op}{value}")
        return
    line = json.dumps(values)
    clause = Clause(f"{field} {op} {value}")
    assert clause.holds(parse(line)) == reference(field, op, value, values), (line, field, op, value)


@pytest.mark.parametrize("text,position,expected", [
    (">=x", 1, "a field name"),
    ("level", 6, "an operator"),
    ("level>=loud", 8, "a level"),
    ("msg~(", 5, "a valid regular expression"),
    ('msg="unclosed', 5, "a closed"),
    ('msg="a" b', 8, "the end of the clause"),
])
def test_a_bad_clause_says_where_and_what_was_expected(text, position, expected):
    with pytest.raises(BadRequest) as err:
        Clause(text)
    assert f"at character {position}" in err.value.message and expected in err.value.message


def test_lines_without_fields_never_match_a_clause_even_a_negative_one():
    for clause in ("a!=1", "a!~x", "level!=info"):
        assert Query.build("", False, [clause]).select(["plain text a=1"]) == []


def test_the_query_key_is_canonical():
    one = Query.build("x", False, ["a=1", "b>2"])
    two = Query.build("x", False, ["b>2", "a=1"])
    assert one.key == two.key
    assert Query.build("", False, []) is None


def test_numbers_compare_as_numbers_and_nan_is_not_a_number():
    q = Query.build("", False, ["ms>=1000"])
    assert q.select(['{"ms": 1203}', '{"ms": 999}', "ms=1500 msg=x", '{"ms": "fast"}']) == [0, 2]
    assert not math.isnan(timestamps.parse_value(1.0))


def test_the_demos_structured_logs_parse_and_answer_where_clauses():
    import random

    from logstream import demo
    rng = random.Random(7)
    records = [parse(demo.json_line(rng)) for _ in range(200)]
    assert all(r is not None and r.kind == "json" and r.level and r.message for r in records)
    failed = Query.build("", False, ["http.status>=500", "level>=error"])
    assert 0 < sum(all(c.holds(r) for c in failed.clauses) for r in records) < len(records)
    queue = [parse(demo.logfmt_line(rng)) for _ in range(200)]
    assert all(r is not None and r.kind == "logfmt" and r.time is not None for r in queue)
