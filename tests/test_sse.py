"""The SSE encoder against a spec-faithful parser: whatever the text, the client
gets exactly what was sent."""

from hypothesis import given
from hypothesis import strategies as st

from logstream import sse

ids = st.text(alphabet=st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",)), max_size=30)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@given(data=texts, event_id=ids, kind=st.sampled_from([None, "rotate", "reset"]))
def test_event_round_trips_through_the_parser(data, event_id, kind):
    parser = sse.Parser()
    events = parser.feed(sse.event(data, event_id, kind))
    assert len(events) == 1
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    assert events[0].data == expected
    assert events[0].last_event_id == event_id
    assert events[0].type == (kind or "message")


@given(lines=st.lists(texts.map(lambda t: t.replace("\n", "")), max_size=20), split=st.integers(1, 50))
def test_lines_block_round_trips_in_any_chunking(lines, split):
    ends = list(range(10, 10 + len(lines)))
    wire = sse.lines_block("ab-", lines, ends).encode()
    parser = sse.Parser()
    events = []
    for i in range(0, len(wire), split):
        events.extend(parser.feed(wire[i : i + split]))
    assert [e.data for e in events] == [t.replace("\r\n", "\n").replace("\r", "\n") for t in lines]
    assert [e.last_event_id for e in events] == [f"ab-{end}" for end in ends]


def test_merged_lines_carry_the_path_as_first_data_line():
    wire = sse.lines_block("1-5,", ["hello"], [9], ",2-7", label="sub/app.log").encode()
    [event] = sse.Parser().feed(wire)
    assert event.data == "sub/app.log\nhello"
    assert event.last_event_id == "1-5,9,2-7"


def test_id_only_event_moves_last_event_id_without_dispatching():
    parser = sse.Parser()
    assert parser.feed(sse.event("x", "a-1") + sse.id_only("a-9")) == [sse.Event("x", "message", "a-1")]
    assert parser.last_event_id == "a-9"


def test_empty_line_is_still_an_event():
    [event] = sse.Parser().feed(sse.lines_block("a-", [""], [1]).encode())
    assert event.data == ""


def test_comment_and_retry_are_not_events():
    parser = sse.Parser()
    assert parser.feed(sse.retry(2000) + sse.comment("ping")) == []
    assert parser.retry == 2000
    assert parser.comments == ["ping"]


def test_nul_and_control_characters_do_not_break_framing():
    text = "a\0b\x1b[31mred\x07\x0b\x0c\u2028end"
    [event] = sse.Parser().feed(sse.lines_block("a-", [text], [3]).encode())
    assert event.data == text


def test_field_values_with_line_breaks_are_refused():
    for bad in ("a\nb", "a\rb", "a\0b"):
        try:
            sse.event("x", bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted as an id")


def test_parser_handles_crlf_split_across_chunks():
    parser = sse.Parser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r\n") == [sse.Event("a")]
