"""Copies of another service's entities that end the same whatever order their events are applied in.

Replicas share one durable consumer, so two batches can be applied concurrently and in either
order, and a retried event is applied after later ones. A copy stays right because every row
keeps `source_seq`, the stream position of the last event applied to it (the same on every
replica and in a replay; all events of one entity come from one producer, hence one stream),
and an event older than that position no longer changes the row's state:

- `apply_newer`: the event asserts the entity's state ("checked in at 08:03", "renamed"); it
  wins only over older events. A removal or an undo is such a state too (`remove` writes a
  tombstone: the row stays, `removed` is true and keeps the position), so a late "registered"
  or "checked in" cannot bring the entity back. A newer event that asserts state revives it.
  A removal states every column that is not a fact (blank names, the time of the undo), so a
  tombstone is the same row whatever was applied before it.
- `position`: a row whose columns are set by different kinds of event keeps one position per
  kind (an account's name and roles come only from "created"/"updated", its being active also
  from "deactivated"), so an event applied late still sets what no newer event has set.
- `facts`: what never changes once the entity exists (a publication's version, a request's
  document); any event that carries them writes them, old or new, so the first event applied
  need not be the one that created the entity.
- `merge_facts`: an event that only adds facts (a revocation time on a publication) and moves
  no position; it never undoes what another event set.
- `placeholders`: values for NOT NULL columns when a later event makes the row before the event
  that carries them (a removal applied before its registration); the facts of that earlier
  event replace them when it arrives.

Each function is one conditional UPDATE, else an INSERT … ON CONFLICT (primary key) DO NOTHING,
else the UPDATE again: on PostgreSQL a concurrent transaction on the same row is either waited
for and re-checked (the UPDATE's WHERE is evaluated again on the committed row) or seen by the
second UPDATE, so two replicas never let an older event overwrite a newer one.

The position is the stream sequence of `runtime.inbox.current_delivery`; a dead letter that an
operator replays (runtime.deadletters) carries its original position in `Original-Stream-Seq`,
so it is ordered where it was first published, as a rebuild from the stream would order it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from runtime.db import UnitOfWork
from runtime.inbox import Delivery, current_delivery

SOURCE_SEQ = "source_seq"
REMOVED = "removed"
ORIGINAL_STREAM_HEADER = "Original-Stream"
ORIGINAL_SEQ_HEADER = "Original-Stream-Seq"

NO_VALUES: Mapping[str, Any] = {}


class PositionUnknown(RuntimeError):
    """A copy was written outside the inbox (no `current_delivery`): its order cannot be known."""


# -- the rules (no I/O) ------------------------------------------------------------------------


def position_of(delivery: Delivery) -> int:
    """The event's place in its stream: where it was first published, even when replayed from the
    dead letters (which publishes it again, at the end of the stream)."""
    original = delivery.headers.get(ORIGINAL_SEQ_HEADER, "")
    if original.isdigit() and delivery.headers.get(ORIGINAL_STREAM_HEADER, delivery.stream) == delivery.stream:
        return int(original)
    return delivery.stream_seq


def is_newer(stored: int | None, incoming: int) -> bool:
    """Whether an event at `incoming` may set the state of a row last set at `stored` (None: a row
    that no positioned event has set yet, e.g. made by facts alone). An event never wins over
    itself: a redelivery changes nothing."""
    return stored is None or incoming > stored


def row_values(table: Table, state: Mapping[str, Any], facts: Mapping[str, Any], seq: int,
               position: str = SOURCE_SEQ) -> dict[str, Any]:
    """What a newer event writes: its facts, its state, its position; and `removed` = false unless
    the event is the removal, so that a newer registration revives a tombstone."""
    values = {**facts, **state, position: seq}
    if position == SOURCE_SEQ and REMOVED in table.c and REMOVED not in state:
        values[REMOVED] = False
    return values


def current_position() -> int:
    delivery = current_delivery.get()
    if delivery is None:
        raise PositionUnknown("a copy of another service's entity is written only by an event handler")
    return position_of(delivery)


# -- the writes ----------------------------------------------------------------------------------


async def apply_newer(uow: UnitOfWork, table: Table, key: Mapping[str, Any], state: Mapping[str, Any],
                      *, facts: Mapping[str, Any] = NO_VALUES, placeholders: Mapping[str, Any] = NO_VALUES,
                      position: str = SOURCE_SEQ) -> bool:
    """Set the entity's state from the event being applied unless a newer event already did.

    Returns whether the state was applied (False: an older event; only its facts were written),
    so a handler can skip the effects that belong to the newest state only."""
    seq = current_position()
    values = row_values(table, state, facts, seq, position)
    newer_only = or_(table.c[position].is_(None), table.c[position] < seq)
    if await _update(uow, table, key, values, newer_only):
        return True
    if await _insert(uow, table, key, {**placeholders, **values}):
        return True
    if await _update(uow, table, key, values, newer_only):  # made meanwhile by another replica
        return True
    if facts:
        await _update(uow, table, key, dict(facts))
    return False


async def remove(uow: UnitOfWork, table: Table, key: Mapping[str, Any], *, state: Mapping[str, Any] = NO_VALUES,
                 facts: Mapping[str, Any] = NO_VALUES, placeholders: Mapping[str, Any] = NO_VALUES) -> bool:
    """A tombstone: the entity is gone as of this event, and older events cannot bring it back."""
    return await apply_newer(uow, table, key, {**state, REMOVED: True}, facts=facts, placeholders=placeholders)


async def merge_facts(uow: UnitOfWork, table: Table, key: Mapping[str, Any], facts: Mapping[str, Any],
                      *, placeholders: Mapping[str, Any] = NO_VALUES) -> None:
    """Add facts to the entity (made with placeholders if no event made it yet); no position moves."""
    if await _update(uow, table, key, dict(facts)):
        return
    if not await _insert(uow, table, key, {**placeholders, **facts}):
        await _update(uow, table, key, dict(facts))


def _key_matches(table: Table, key: Mapping[str, Any]) -> ColumnElement[bool]:
    primary = {column.name for column in table.primary_key.columns}
    if set(key) != primary:
        raise ValueError(f"{table.name}: the key must be the primary key {sorted(primary)}, not {sorted(key)}")
    return and_(*(table.c[name] == value for name, value in key.items()))


async def _update(uow: UnitOfWork, table: Table, key: Mapping[str, Any], values: dict[str, Any],
                  condition: ColumnElement[bool] | None = None) -> bool:
    where = _key_matches(table, key) if condition is None else and_(_key_matches(table, key), condition)
    result = await uow.session.execute(update(table).where(where).values(values))
    return result.rowcount > 0  # type: ignore[attr-defined]


async def _insert(uow: UnitOfWork, table: Table, key: Mapping[str, Any], values: dict[str, Any]) -> bool:
    """Insert unless a row with this key exists (only the primary key: any other unique constraint,
    such as a username held by another account, still fails the event)."""
    dialect = uow.session.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    primary = list(table.primary_key.columns)
    statement = build(table).values({**values, **key}).on_conflict_do_nothing(
        index_elements=[column.name for column in primary]
    ).returning(*primary)  # psycopg reports no rowcount for this INSERT: a returned row says it
    return (await uow.session.execute(statement)).first() is not None
