"""Event ids: positions, parsed strictly."""

import pytest

from logstream.errors import BadEventId
from logstream.position import Position, format_id, parse_id


def test_round_trip_single_and_merged():
    positions = [Position(0x1A2B, 4096), Position(7, 0)]
    assert format_id(positions[:1]) == "1a2b-4096"
    assert parse_id(format_id(positions), 2) == positions


@pytest.mark.parametrize("bad", ["", "x", "1a2b", "1a2b-", "-5", "1a2b--5", "zz-1", "1-2-3", "1-2,", "A-1" * 2,
                                 "1-" + "9" * 30, "1-2\n5", "1-2 3", "１-2", "1-2" + ",1-2" * 5000])
def test_malformed_ids_are_rejected(bad):
    with pytest.raises(BadEventId):
        parse_id(bad)


def test_id_for_another_number_of_files_is_rejected():
    with pytest.raises(BadEventId):
        parse_id("1-2,3-4", 1)
