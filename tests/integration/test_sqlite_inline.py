"""SQLite on the event loop's thread (runtime.sqlite_inline): waiting for another process's
write lock must not stop the loop, a lock that outlives the deadline is an error, and work
that ran alongside is not lost. The lock is held by a real second connection (another
process would hold it the same way: SQLite locks the file)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select
from sqlalchemy.exc import OperationalError

from runtime import sqlite_inline
from runtime.db import Database, new_metadata, reliability_tables


def _database(path: Path) -> tuple[Database, Table]:
    metadata: MetaData = new_metadata()
    outbox, inbox = reliability_tables(metadata)
    counters = Table("counters", metadata, Column("n", Integer, primary_key=True))
    return Database(f"sqlite:///{path}", outbox, inbox), counters


async def _create(db: Database, metadata: MetaData) -> None:
    async with db.write_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


def _hold_write_lock(path: Path, seconds: float, locked: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    locked.set()
    time.sleep(seconds)
    other.execute("COMMIT")
    other.close()


async def test_a_writer_waits_for_a_lock_without_stopping_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "inline.sqlite3"
    db, counters = _database(path)
    await _create(db, counters.metadata)
    assert db.url.startswith("sqlite+inline://")
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.5, locked))
    holder.start()
    await asyncio.to_thread(locked.wait)

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    async with db.uow() as uow:
        await uow.session.execute(insert(counters).values(n=1))
    waited = time.monotonic() - started
    ticking.cancel()
    await asyncio.to_thread(holder.join)

    assert waited >= 0.4  # it did wait for the other connection's transaction
    assert ticks >= 20  # and the loop kept running meanwhile (a blocking wait would give ~0)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(counters)) == 1
    await db.dispose()


async def test_a_lock_held_past_the_deadline_fails_the_unit_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_DEADLINE", 0.2)
    path = tmp_path / "deadline.sqlite3"
    db, counters = _database(path)
    await _create(db, counters.metadata)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.0, locked))
    holder.start()
    await asyncio.to_thread(locked.wait)

    with pytest.raises(OperationalError, match="locked"):
        async with db.uow() as uow:
            await uow.session.execute(insert(counters).values(n=1))
    await asyncio.to_thread(holder.join)

    async with db.uow() as uow:  # the lock is gone: the next unit of work goes through
        await uow.session.execute(insert(counters).values(n=2))
    async with db.session() as session:
        assert (await session.scalars(select(counters.c.n))).all() == [2]
    await db.dispose()


async def test_reads_see_committed_writes_and_offloaded_reads_agree(tmp_path: Path) -> None:
    db, counters = _database(tmp_path / "reads.sqlite3")
    await _create(db, counters.metadata)
    async with db.uow() as uow:
        await uow.session.execute(insert(counters), [{"n": n} for n in range(1, 101)])
    async with db.session() as inline, db.session(offload=True) as offloaded:
        assert await inline.scalar(select(func.sum(counters.c.n))) == 5050
        assert await offloaded.scalar(select(func.sum(counters.c.n))) == 5050
    assert db.offload_engine.url.drivername == "sqlite+aiosqlite"
    await db.dispose()


async def test_checkpoints_run_off_the_event_loop_and_reach_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.sqlite3"
    db, counters = _database(path)
    await _create(db, counters.metadata)
    before = path.stat().st_size
    async with db.uow() as uow:  # ~2 MB of pages: inline connections never checkpoint in a commit
        await uow.session.execute(insert(counters), [{"n": n} for n in range(1, 150_001)])
    deadline = time.monotonic() + 10
    while path.stat().st_size == before and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # the checkpointer thread copies it within a second or so
    assert path.stat().st_size > before + 1_000_000  # with no checkpointer the file would not grow
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(counters)) == 150_000
    await db.dispose()
