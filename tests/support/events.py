"""Helpers for event tests: publish into a real NATS, read a service's database, poll, read /metrics.

Everything here is synchronous (each NATS action runs its own short event loop), so tests
that drive OS processes stay plain functions.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
from sqlalchemy import Engine, MetaData, create_engine, select

from contracts.base import Event
from runtime.db import sync_url

T = TypeVar("T")


def publish(nats_url: str, events: Iterable[Event], *, headers: Mapping[str, str] | None = None) -> list[int]:
    """Publish events as a producer's outbox relay would (Nats-Msg-Id = event_id); returns stream seqs."""

    async def go() -> list[int]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            seqs = []
            for event in events:
                ack = await js.publish(event.subject, event.to_bytes(), headers={**event.headers(), **(headers or {})})
                seqs.append(ack.seq)
            return seqs
        finally:
            await nc.close()

    return asyncio.run(go())


def publish_raw(nats_url: str, subject: str, data: bytes, headers: Mapping[str, str]) -> int:
    """Publish any bytes with any headers (a misbehaving producer)."""

    async def go() -> int:
        nc = await nats.connect(nats_url)
        try:
            return (await nc.jetstream().publish(subject, data, headers=dict(headers))).seq
        finally:
            await nc.close()

    return asyncio.run(go())


def stream_state(nats_url: str, stream: str) -> Any:
    async def go() -> Any:
        nc = await nats.connect(nats_url)
        try:
            return (await nc.jetstream().stream_info(stream)).state
        finally:
            await nc.close()

    return asyncio.run(go())


def wait_for(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, what: str = "") -> T:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or condition}")
        time.sleep(interval)
        last = condition()
    return last


def service_database_url(service: str, env: Mapping[str, str], data_dir: Path) -> str:
    """The database a service process uses, from its environment (as its Settings resolve it)."""
    url = env.get(f"{service.upper()}_DATABASE_URL")
    return url or f"sqlite:///{(Path(data_dir) / f'{service}.sqlite3').resolve()}"


class DatabaseReader:
    """Read a running service's tables from the test process (SQLite WAL or PostgreSQL)."""

    def __init__(self, url: str, metadata: MetaData) -> None:
        self.engine: Engine = create_engine(sync_url(url))
        self.metadata = metadata

    def rows(self, table: str, order_by: str | None = None) -> list[dict[str, Any]]:
        t = self.metadata.tables[table]
        query = select(t)
        if order_by:
            query = query.order_by(t.c[order_by])
        else:
            query = query.order_by(*t.primary_key.columns)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def dump(self, tables: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        return {name: self.rows(name) for name in tables}

    def close(self) -> None:
        self.engine.dispose()


_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$')


def metric(base_url: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` at `base_url`/metrics whose labels include `labels`."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or m.group("name") != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group("labels") or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(m.group("value"))
    return total


def wait_nats_ready(base_url: str, timeout: float = 30.0) -> None:
    """Until the service's /readyz says NATS is up (its streams and consumers exist)."""

    def ready() -> bool:
        try:
            return httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout, what=f"{base_url}/readyz")
