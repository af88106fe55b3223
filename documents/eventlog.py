"""The documents service's own copy of every event it consumes, hash-chained per congress.

The archive of a congress is assembled from this log, never from the streams, so it does
not depend on stream retention. Each row keeps the event exactly as consumed (canonical
JSON: sorted keys, no spaces, UTF-8) and `hash = sha256(prev_hash + payload)`, chained per
congress in the order this service applied the events; `event_log_heads` holds each chain's
head, which the sealed record includes. Events without a congress form their own chain
(key ""). The first `prev_hash` of a chain is GENESIS.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import Event
from documents.db import event_log, event_log_heads
from runtime.db import UnitOfWork, utcnow
from runtime.inbox import current_delivery

GENESIS = "0" * 64


def canonical_payload(event: Event) -> str:
    return json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def chain_key(congress_id: uuid.UUID | str | None) -> str:
    return str(congress_id) if congress_id else ""


async def record_event(event: Event, uow: UnitOfWork) -> None:
    """Keep a copy of the event in the congress's hash-chained event log."""
    session = uow.session
    chain = chain_key(event.congress_id)
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert_head = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(event_log_heads)
    await session.execute(
        insert_head.values(chain=chain, hash=GENESIS, length=0, updated_at=now).on_conflict_do_nothing(
            index_elements=["chain"]
        )
    )
    # FOR UPDATE serialises appenders on PostgreSQL; SQLite writers are serialised already.
    head = (
        await session.execute(select(event_log_heads).where(event_log_heads.c.chain == chain).with_for_update())
    ).one()
    payload = canonical_payload(event)
    digest = chain_hash(head.hash, payload)
    delivery = current_delivery.get()
    # The row itself is written with the batch's other rows as the unit of work ends (nothing
    # reads the log back in this transaction; the head below is what the next event chains to).
    uow.insert_later(event_log, {
        "congress_id": chain or None,
        "event_id": str(event.event_id),
        "subject": event.subject,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "stream": delivery.stream if delivery else event.producer.upper(),
        "stream_seq": delivery.stream_seq if delivery else None,
        "headers": delivery.headers if delivery else event.headers(),
        "payload": payload,
        "prev_hash": head.hash,
        "hash": digest,
    })
    await session.execute(
        update(event_log_heads)
        .where(event_log_heads.c.chain == chain)
        .values(hash=digest, length=head.length + 1, updated_at=now)
    )


@dataclass(frozen=True)
class ChainCheck:
    intact: bool
    head: str
    length: int
    problems: list[str]


async def verify_chain(session: AsyncSession, congress_id: uuid.UUID | str | None) -> ChainCheck:
    """Recompute a congress's chain from its rows and compare it with the stored hashes and head."""
    chain = chain_key(congress_id)
    where = event_log.c.congress_id == chain if chain else event_log.c.congress_id.is_(None)
    rows = (
        await session.execute(
            select(event_log.c.id, event_log.c.payload, event_log.c.prev_hash, event_log.c.hash)
            .where(where)
            .order_by(event_log.c.id)
        )
    ).all()
    problems: list[str] = []
    expected_prev = GENESIS
    for row in rows:
        if row.prev_hash != expected_prev:
            problems.append(f"row {row.id}: prev_hash does not match the previous row")
        if chain_hash(row.prev_hash, row.payload) != row.hash:
            problems.append(f"row {row.id}: hash does not match its payload")
        expected_prev = row.hash
    stored = (await session.execute(select(event_log_heads).where(event_log_heads.c.chain == chain))).first()
    head, length = (stored.hash, stored.length) if stored else (GENESIS, 0)
    if head != expected_prev or length != len(rows):
        problems.append("the stored head does not match the last row")
    return ChainCheck(not problems, expected_prev, len(rows), problems)
