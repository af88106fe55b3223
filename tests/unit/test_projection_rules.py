"""The order rule of copies kept from other services' events (runtime/projection.py), without I/O."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Boolean, Column, MetaData, String, Table

from runtime.inbox import Delivery
from runtime.projection import (
    ORIGINAL_SEQ_HEADER,
    ORIGINAL_STREAM_HEADER,
    REMOVED,
    SOURCE_SEQ,
    is_newer,
    position_of,
    row_values,
)

metadata = MetaData()
with_tombstone = Table("memberships", metadata, Column("id", String, primary_key=True), Column("name", String),
                       Column(REMOVED, Boolean), Column(SOURCE_SEQ, BigInteger))
without_tombstone = Table("accounts", metadata, Column("id", String, primary_key=True), Column("name", String),
                          Column(SOURCE_SEQ, BigInteger))


def delivery(seq: int, stream: str = "CONGRESS", **headers: str) -> Delivery:
    return Delivery(stream, seq, "congress.delegate.checked_in", headers)


def test_an_event_is_placed_at_its_stream_sequence() -> None:
    assert position_of(delivery(42)) == 42


def test_a_replayed_dead_letter_keeps_the_place_it_was_first_published_at() -> None:
    replayed = delivery(900, **{ORIGINAL_STREAM_HEADER: "CONGRESS", ORIGINAL_SEQ_HEADER: "17"})
    assert position_of(replayed) == 17


def test_an_original_position_from_another_stream_or_unreadable_is_not_used() -> None:
    assert position_of(delivery(900, **{ORIGINAL_STREAM_HEADER: "SIGNING", ORIGINAL_SEQ_HEADER: "17"})) == 900
    assert position_of(delivery(900, **{ORIGINAL_SEQ_HEADER: "seventeen"})) == 900
    assert position_of(delivery(900, **{ORIGINAL_SEQ_HEADER: "17"})) == 17  # same stream when not named


@pytest.mark.parametrize(("stored", "incoming", "newer"), [
    (None, 1, True),  # no event set the state yet (a row made by facts alone)
    (5, 6, True),
    (5, 5, False),  # the same event again changes nothing
    (6, 5, False),  # an older event applied late
])
def test_only_a_later_event_sets_the_state(stored: int | None, incoming: int, newer: bool) -> None:
    assert is_newer(stored, incoming) is newer


def test_last_event_by_stream_order_wins_whatever_order_they_are_applied_in() -> None:
    """Folding the rule over every order of three events ends in the last event's state."""
    from itertools import permutations

    events = [(3, "checked in at 08:03"), (7, "undone"), (9, "checked in at 08:40")]
    for order in permutations(events):
        stored: int | None = None
        state = None
        for seq, value in order:
            if is_newer(stored, seq):
                stored, state = seq, value
        assert (stored, state) == (9, "checked in at 08:40"), order


def test_a_newer_state_revives_a_tombstone_and_a_removal_is_one() -> None:
    assert row_values(with_tombstone, {"name": "Hoa"}, {}, 8) == {"name": "Hoa", REMOVED: False, SOURCE_SEQ: 8}
    assert row_values(with_tombstone, {REMOVED: True}, {}, 9) == {REMOVED: True, SOURCE_SEQ: 9}


def test_facts_travel_with_the_state_and_tables_without_tombstones_get_none() -> None:
    assert row_values(without_tombstone, {"name": "Lan"}, {"id_card": "x"}, 3) == {
        "id_card": "x", "name": "Lan", SOURCE_SEQ: 3}
