"""SQLite for asyncio without a thread hop per call: the `sqlite+inline://` dialect.

SQLAlchemy's aiosqlite dialect runs every driver call (cursor, execute, fetch, close,
rollback) on aiosqlite's worker thread and wakes the event loop for each answer. On these
machines one hop costs about 90 us, and a one-row read takes six of them: 0.8 ms for what
SQLite itself does in a few microseconds. This dialect is SQLAlchemy's aiosqlite dialect
with a driver that calls `sqlite3` directly on the event loop's thread.

Two things a thread was good for are kept:

- Waiting for a lock never blocks the loop. Connections have no busy timeout; a statement
  refused with SQLITE_BUSY is retried after an asynchronous sleep (BEGIN and COMMIT, and any
  statement outside a transaction; inside one, SQLite's answer stands, as it would have).
- Long queries (full-text search over a large archive) can still run off the loop: a
  `Database` keeps an aiosqlite engine for those (`Database.session(offload=True)`).
- Checkpoints (copying the WAL back into the database file, with an fsync) do not run inside
  a commit on the loop: inline connections turn SQLite's automatic checkpoint off and a
  `WalCheckpointer` thread runs a passive checkpoint every second.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

BUSY_DEADLINE = 30.0  # seconds a statement may wait for another process's lock
_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.05


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "database is locked" in str(error)
    )


class _Connection:
    """The part of aiosqlite's Connection that SQLAlchemy's adapter uses, run inline."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._connection = conn  # the name SQLAlchemy's adapter checks before commit/rollback

    async def _retrying(self, fn: Callable[..., Any], *args: Any, retry_in_transaction: bool = False) -> Any:
        pause, deadline = _FIRST_PAUSE, None
        while True:
            try:
                return fn(*args)
            except sqlite3.OperationalError as error:
                if not _busy(error) or (self._connection.in_transaction and not retry_in_transaction):
                    raise
                deadline = deadline or time.monotonic() + BUSY_DEADLINE
                if time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    def cursor(self) -> _Cursor:
        return _Cursor(self, self._connection.cursor())

    async def commit(self) -> None:
        await self._retrying(self._connection.commit, retry_in_transaction=True)

    async def rollback(self) -> None:
        self._connection.rollback()

    async def close(self) -> None:
        self._connection.close()

    def stop(self) -> None:
        self._connection.close()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._connection.create_function(*args, **kw)

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level


class _Cursor:
    def __init__(self, connection: _Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        # BEGIN (IMMEDIATE) is where another process's write lock is met: always retry it.
        begins = sql.lstrip()[:5].upper() == "BEGIN"
        await self._connection._retrying(self._cursor.execute, sql, parameters, retry_in_transaction=begins)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> _Cursor:
        rows = list(seq_of_parameters)
        await self._connection._retrying(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


async def connect(database: str, **kw: Any) -> _Connection:
    kw["timeout"] = 0  # no busy wait inside SQLite: `_retrying` waits without blocking the loop
    kw.setdefault("check_same_thread", False)  # the pool may close it from a finalizer's thread
    return _Connection(sqlite3.connect(database, **kw))


class InlineAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection._connection.isolation_level = value  # type: ignore[attr-defined]

    def _terminate_force_close(self) -> None:
        self._connection.stop()  # type: ignore[attr-defined]


class _InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> InlineAdaptedConnection:
        return InlineAdaptedConnection(self, await_(connect(*arg, **kw)))


_DRIVER = SimpleNamespace(
    **{name: getattr(sqlite3, name) for name in (
        "DatabaseError", "Error", "IntegrityError", "NotSupportedError", "OperationalError", "ProgrammingError",
        "sqlite_version", "sqlite_version_info")},  # fmt: skip
    Connection=SimpleNamespace(stop=None),  # SQLAlchemy asks whether the driver can stop a connection
)


class SQLiteDialect_inline(SQLiteDialect_aiosqlite):  # noqa: N801 - SQLAlchemy's naming
    driver = "inline"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> _InlineDBAPI:  # type: ignore[override]
        return _InlineDBAPI(_DRIVER, sqlite3)  # type: ignore[arg-type]

    def retrieve_dbapi_version(self, dbapi: Any) -> Any:
        return None


dialect = SQLiteDialect_inline


class WalCheckpointer:
    """Passive WAL checkpoints of one database file, every `interval` seconds, on a thread.

    A passive checkpoint never waits for readers or writers; what it cannot copy yet is copied
    at a later round, and SQLite starts the WAL over once everything is copied."""

    def __init__(self, path: str, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    conn = conn or sqlite3.connect(self.path, timeout=0, isolation_level=None)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # busy, or the file is not there yet: the next round tries again
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

registry.register("sqlite.inline", __name__, "SQLiteDialect_inline")
