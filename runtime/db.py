"""Database access for a service: async engines, the outbox and inbox tables, the unit of work.

SQLite (default) and PostgreSQL use the same code. On SQLite, writes go through one
connection that begins `IMMEDIATE`, so concurrent writers queue instead of failing with
"database is locked"; reads use their own pool and never wait for writers (WAL). SQLite calls
run on the event loop's thread (`runtime.sqlite_inline`: a statement costs microseconds, a
thread hop ~90 us); a query that may run long asks for `session(offload=True)`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    event,
    insert,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from contracts.base import Event
from runtime import context, sqlite_inline

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on both engines (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


OUTBOX_UNSENT = text("sent_at IS NULL")


def reliability_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and inbox tables, defined in each service's own metadata (own database)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("headers", JSON, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        # Only the rows still to publish: a row leaves the index as it is marked sent, and
        # sent rows (most of the table) cost nothing to the relay's query. No index on
        # event_id: nothing looks a row up by it, and JetStream deduplicates by it.
        Index("ix_outbox_pending", "seq", sqlite_where=OUTBOX_UNSENT, postgresql_where=OUTBOX_UNSENT),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("subject", String(200), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
    )
    return outbox, inbox


def async_url(url: str) -> str:
    for prefix, replacement in (
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite+inline://", "sqlite+inline://"),
        ("sqlite://", "sqlite+inline://"),
        ("postgresql+psycopg://", "postgresql+psycopg://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix) :]
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def sync_url(url: str) -> str:
    return re.sub(r"^sqlite\+(aiosqlite|inline)://", "sqlite://", async_url(url))


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if isinstance(dbapi_connection, sqlite_inline.InlineAdaptedConnection):
        # They wait for locks asynchronously, and leave checkpoints to Database's checkpointer
        # thread: a checkpoint inside a commit would hold the event loop through its fsync.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    else:
        cursor.execute(f"PRAGMA busy_timeout={int(sqlite_inline.BUSY_DEADLINE * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """The engines and session factories of one service's database."""

    def __init__(self, url: str, outbox: Table, inbox: Table) -> None:
        self.url = async_url(url)
        self.outbox = outbox
        self.inbox = inbox
        self.sqlite = is_sqlite(self.url)
        self._after_commit: list[Callable[[], None]] = []
        if self.sqlite:
            threaded = self.url.replace("sqlite+inline://", "sqlite+aiosqlite://", 1)
            self.read_engine = create_async_engine(self.url, pool_size=4, max_overflow=4)
            self.write_engine = create_async_engine(self.url, pool_size=1, max_overflow=0, pool_timeout=60)
            self.offload_engine = create_async_engine(threaded, pool_size=2, max_overflow=2)
            for eng in (self.read_engine, self.write_engine, self.offload_engine):
                event.listen(eng.sync_engine, "connect", _sqlite_pragmas)
            self._begin_immediate(self.write_engine)
            path = self.write_engine.url.database
            self._checkpointer = sqlite_inline.WalCheckpointer(path) if path and path != ":memory:" else None
        else:
            self.read_engine = create_async_engine(self.url, pool_size=10, max_overflow=20, pool_pre_ping=True)
            self.write_engine = self.offload_engine = self.read_engine
            self._checkpointer = None
        self.reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self.offload_reader = async_sessionmaker(self.offload_engine, expire_on_commit=False)
        self.writer = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @staticmethod
    def _begin_immediate(engine: AsyncEngine) -> None:
        @event.listens_for(engine.sync_engine, "connect")
        def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Called after every unit of work that emitted events commits (wakes the outbox relay)."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def session(self, offload: bool = False) -> AsyncIterator[AsyncSession]:
        """A read-only session for queries (pages, API reads). `offload=True` for a query that
        may take long (search over a large archive): on SQLite it then runs on a worker thread
        and the event loop keeps serving meanwhile."""
        async with (self.offload_reader if offload else self.reader)() as session:
            yield session

    @asynccontextmanager
    async def uow(self) -> AsyncIterator["UnitOfWork"]:
        """A write transaction: state changes and the events they emit commit together."""
        async with self.writer() as session:
            async with session.begin():
                unit = UnitOfWork(session, self.outbox)
                yield unit
                await unit.flush()
            if unit.emitted:
                for callback in self._after_commit:
                    callback()

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        for engine in {self.read_engine, self.write_engine, self.offload_engine}:
            await engine.dispose()
        if self._checkpointer is not None:
            self._checkpointer.stop()


class UnitOfWork:
    def __init__(self, session: AsyncSession, outbox: Table) -> None:
        self.session = session
        self._outbox = outbox
        self.emitted: list[Event] = []
        self._staged: list[dict[str, Any]] = []
        self._later: dict[Table, list[dict[str, Any]]] = {}
        self._correlation_id = ""

    async def emit(self, event_: Event) -> Event:
        """Stage an event in the outbox, in this transaction. Fills in the context it lacks."""
        updates: dict[str, Any] = {}
        if not event_.correlation_id:
            # Outside a request or a consumer, the events of one unit of work share an id:
            # they come from the same change.
            if not self._correlation_id:
                self._correlation_id = context.correlation_id.get() or context.new_correlation_id()
            updates["correlation_id"] = self._correlation_id
        if event_.causation_id is None and context.causation_id.get():
            updates["causation_id"] = context.causation_id.get()
        if event_.actor is None and context.actor.get():
            updates["actor"] = context.actor.get()
        if updates:
            event_ = event_.model_copy(update=updates)
        self.emitted.append(event_)
        self._staged.append(
            {
                "event_id": str(event_.event_id),
                "subject": event_.subject,
                "headers": event_.headers(),
                "payload": event_.to_bytes(),
                "created_at": utcnow(),
                "attempts": 0,
            }
        )
        return event_

    def insert_later(self, table: Table, row: dict[str, Any]) -> None:
        """Stage a row of `table`: written with the other staged rows of its table in one
        statement as the unit of work ends, still inside its transaction.

        For rows that nothing in this unit of work reads back or references afterwards:
        append-only logs, copies of events. A statement costs ~60 us in SQLAlchemy whatever it
        carries; a row of a multi-row insert a few. A constraint the row breaks fails the unit
        at its end instead of at this call, with the same rollback."""
        self._later.setdefault(table, []).append(row)

    async def flush(self) -> None:
        """Write the staged rows, then the staged events, still inside the transaction (before commit).

        Called by `Database.uow()` as the unit of work ends; a failure here rolls the whole unit
        back like any other statement of it. One multi-row insert per table (and per set of
        columns) instead of one per row.
        """
        later, self._later = self._later, {}
        for table, rows in later.items():
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:
                by_columns.setdefault(tuple(row), []).append(row)
            for same in by_columns.values():
                await self.session.execute(insert(table), same)
        if self._staged:
            rows, self._staged = self._staged, []
            await self.session.execute(insert(self._outbox), rows)


async def run_blocking(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)
