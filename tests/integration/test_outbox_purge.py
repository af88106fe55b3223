"""Old published events leave the outbox (runtime/outbox.py `OutboxRelay.purge_sent`); events
still to publish stay however old they are, and so do recent ones. On SQLite, and on
PostgreSQL with TEST_DATABASE=postgresql."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

import runtime.outbox
from runtime.db import Database, new_metadata, reliability_tables, utcnow
from runtime.outbox import OutboxRelay
from tests.support.system import database_url


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    metadata = new_metadata()
    outbox, inbox = reliability_tables(metadata)
    database = Database(database_url("outbox", fresh=True) or f"sqlite:///{tmp_path / 'outbox.sqlite3'}", outbox, inbox)
    async with database.write_engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def test_published_rows_older_than_kept_are_deleted_and_no_others(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.outbox, "PURGE_BATCH", 4)  # several batches over 14 rows
    now = utcnow()
    ages_and_sent = (
        [(timedelta(days=30), True)] * 6  # published a month ago: deleted
        + [(timedelta(days=20), False)]  # never published (NATS refused it): kept
        + [(timedelta(days=10), True)] * 3  # published, older than a week: deleted
        + [(timedelta(days=2), True)] * 2  # published this week: kept
        + [(timedelta(hours=1), False)] * 2  # waiting to be published: kept
    )
    async with db.uow() as uow:
        await uow.session.execute(insert(db.outbox), [
            {"event_id": f"00000000-0000-0000-0000-{n:012d}", "subject": "congress.delegate.checked_in",
             "headers": {"Nats-Msg-Id": str(n)}, "payload": b"{}", "created_at": now - age,
             "sent_at": now - age + timedelta(seconds=1) if sent else None, "attempts": int(sent)}
            for n, (age, sent) in enumerate(ages_and_sent)
        ])

    relay = OutboxRelay(db, "congress")
    assert await relay.purge_sent(timedelta(days=7)) == 9

    async with db.session() as session:
        left = (await session.execute(select(db.outbox.c.created_at, db.outbox.c.sent_at).order_by(db.outbox.c.seq))).all()
    assert [(round((now - created).total_seconds() / 3600), sent is not None) for created, sent in left] == [
        (20 * 24, False), (2 * 24, True), (2 * 24, True), (1, False), (1, False)]
    assert await relay.pending_count() == 3
    assert await relay.purge_sent(timedelta(days=7)) == 0
