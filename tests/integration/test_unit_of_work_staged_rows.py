"""Rows staged with `UnitOfWork.insert_later` (runtime/db.py): written as the unit of work ends,
in the order they were staged, in the unit's transaction; a row that breaks a constraint
takes the whole unit back with it, its other writes and its events included. On SQLite, and
on PostgreSQL with TEST_DATABASE=postgresql."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

import contracts.congress as cc
from runtime.db import Database, new_metadata, reliability_tables, utcnow
from tests.support.system import database_url


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    metadata: MetaData = new_metadata()
    outbox, inbox = reliability_tables(metadata)
    Table("log", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("key", String(20), nullable=False, unique=True), Column("note", String(50), nullable=True))
    Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String(20), nullable=False))
    database = Database(database_url("events", fresh=True) or f"sqlite:///{tmp_path / 'uow.sqlite3'}", outbox, inbox)
    async with database.write_engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    database.tables = metadata.tables  # type: ignore[attr-defined]
    yield database
    await database.dispose()


def _event() -> cc.DelegateCheckedIn:
    now = utcnow()
    return cc.DelegateCheckedIn(congress_id=uuid.uuid4(), delegate_id=uuid.uuid4(), checked_in_at=now, occurred_at=now)


async def test_staged_rows_are_written_at_the_end_in_order_with_their_columns(db) -> None:  # type: ignore[no-untyped-def]
    log = db.tables["log"]
    async with db.uow() as uow:
        uow.insert_later(log, {"key": "a"})
        uow.insert_later(log, {"key": "b", "note": "có ghi chú"})
        uow.insert_later(log, {"key": "c"})
        # Staged, not written yet: nothing in this unit reads them back.
        assert await uow.session.scalar(select(func.count()).select_from(log)) == 0
    async with db.session() as session:
        rows = (await session.execute(select(log.c.key, log.c.note).order_by(log.c.id))).all()
    assert sorted(rows, key=lambda r: r.key) == [("a", None), ("b", "có ghi chú"), ("c", None)]
    assert [r.key for r in rows if r.note is None] == ["a", "c"]  # staging order within one set of columns


async def test_a_staged_row_that_breaks_a_constraint_takes_the_whole_unit_back(db) -> None:  # type: ignore[no-untyped-def]
    log, things = db.tables["log"], db.tables["things"]
    async with db.uow() as uow:
        uow.insert_later(log, {"key": "taken"})
    with pytest.raises(IntegrityError):
        async with db.uow() as uow:
            await uow.session.execute(insert(things).values(id=1, name="written at once"))
            uow.insert_later(log, {"key": "new"})
            uow.insert_later(log, {"key": "taken"})
            await uow.emit(_event())
    async with db.session() as session:
        assert (await session.scalars(select(log.c.key))).all() == ["taken"]
        assert await session.scalar(select(func.count()).select_from(things)) == 0
        assert await session.scalar(select(func.count()).select_from(db.outbox)) == 0


async def test_staged_rows_and_events_commit_together(db) -> None:  # type: ignore[no-untyped-def]
    log = db.tables["log"]
    async with db.uow() as uow:
        for n in range(50):
            uow.insert_later(log, {"key": f"k{n}"})
            await uow.emit(_event())
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(log)) == 50
        assert await session.scalar(select(func.count()).select_from(db.outbox)) == 50
