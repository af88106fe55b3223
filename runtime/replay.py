"""Rebuild a service's read models from the streams: `python -m runtime.replay <service> [--purpose P]`.

A service's `subscribers.py` declares, per purpose, the tables its handlers build from events
alone (`READ_MODELS`). A replay of one purpose, in ONE transaction:

1. locks out the live consumers (SQLite: the write transaction itself; PostgreSQL: an
   EXCLUSIVE lock on the inbox and the read-model tables; readers are not blocked and keep
   seeing the old model until the commit);
2. deletes the purpose's inbox rows and the read-model tables;
3. reads each subscribed stream from its first message up to its last sequence as it stood
   once the lock was held, with an ordered ephemeral consumer (the durable consumers are left
   untouched), and applies the events with `runtime.inbox.apply_in`, the very function the
   live consumer commits through, in batches of the subscription's batch size;
4. commits. Events the live consumer receives afterwards find their inbox rows (no-op) or
   are newer than the replay (applied as usual).

Messages the live consumer would dead-letter (unknown version, invalid body, a handler that
raises) are skipped and counted, as they are absent from the live model too. The event log of
the documents service is not a read model (the archive relies on it when the streams no
longer hold old events) and is never rebuilt this way.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from dataclasses import dataclass, field

import nats
import nats.js.api as jsapi
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Table, delete, text

from runtime.db import Database, UnitOfWork
from runtime.inbox import PoisonMessage, Subscription, _Item, apply_in, parse_message
from runtime.migrations import upgrade
from runtime.settings import SERVICES

log = structlog.get_logger()

DEFAULT_NATS_URL = "nats://127.0.0.1:4333"  # the embedded system's server (runtime.launcher)
FETCH_TIMEOUT = 10.0


@dataclass
class ReplayResult:
    service: str
    purpose: str
    applied: int = 0
    skipped_poison: int = 0
    skipped_failed: int = 0
    tables: list[str] = field(default_factory=list)
    last_seq: dict[str, int] = field(default_factory=dict)


@dataclass
class ServiceParts:
    """What a replay needs from a service: its database, subscriptions and read models."""

    name: str
    db: Database
    subscriptions: list[Subscription]
    read_models: dict[str, list[Table]]
    migrations: str
    database_url: str
    nats_servers: list[str]


def service_subscriptions(name: str) -> list[Subscription]:
    """A service's subscription table: `SUBSCRIPTIONS` in its subscribers.py, or, when its handlers
    need wiring (e.g. `subscriptions(deps)`), the table its `bootstrap()` wires."""
    subscribers = importlib.import_module(f"{name}.subscribers")
    if hasattr(subscribers, "SUBSCRIPTIONS"):
        return list(subscribers.SUBSCRIPTIONS)
    return list(importlib.import_module(f"{name}.main").bootstrap().subscriptions)


def load_service(name: str) -> ServiceParts:
    if name not in SERVICES:
        raise SystemExit(f"unknown service {name!r} (one of {', '.join(SERVICES)})")
    config = importlib.import_module(f"{name}.config")
    db_module = importlib.import_module(f"{name}.db")
    subscribers = importlib.import_module(f"{name}.subscribers")
    settings = config.Settings()
    url = settings.resolved_database_url()
    package_dir = os.path.dirname(importlib.import_module(name).__file__ or "")
    return ServiceParts(
        name=name,
        db=db_module.make_database(url),
        subscriptions=service_subscriptions(name),
        read_models=dict(getattr(subscribers, "READ_MODELS", {})),
        migrations=os.path.join(package_dir, "migrations"),
        database_url=url,
        nats_servers=settings.nats_servers,
    )


async def read_stream(js: JetStreamContext, subscription: Subscription, last_seq: int) -> list[Msg]:
    """Every message of the subscription's stream up to `last_seq`, in stream order."""
    if last_seq == 0:
        return []
    spec = subscription.stream
    sub = await js.subscribe(
        spec.subjects[0], stream=spec.name, ordered_consumer=True, deliver_policy=jsapi.DeliverPolicy.ALL
    )
    msgs: list[Msg] = []
    try:
        while True:
            msg = await sub.next_msg(timeout=FETCH_TIMEOUT)
            if msg.metadata.sequence.stream > last_seq:
                break
            msgs.append(msg)
            if msg.metadata.sequence.stream == last_seq:
                break
    finally:
        await sub.unsubscribe()
    return msgs


async def _apply_batch(uow: UnitOfWork, parts: ServiceParts, durable: str, items: list[_Item],
                       result: ReplayResult) -> None:
    """Like the live consumer: the whole batch at once, else one by one, skipping what fails."""
    try:
        async with uow.session.begin_nested():
            result.applied += len(await apply_in(uow, parts.db.inbox, parts.name, durable, items))
        return
    except Exception:  # noqa: BLE001 - retried one by one below
        pass
    for item in items:
        try:
            async with uow.session.begin_nested():
                result.applied += len(await apply_in(uow, parts.db.inbox, parts.name, durable, [item]))
        except Exception as exc:  # noqa: BLE001 - live, this one would be dead-lettered
            result.skipped_failed += 1
            log.warning("replay.event_failed", consumer=durable, subject=item.event.subject,
                        event_id=str(item.event.event_id), error=str(exc)[:300])


async def replay(parts: ServiceParts, purpose: str, nats_url: str | None = None,
                 console: Console | None = None) -> ReplayResult:
    tables = parts.read_models.get(purpose)
    subscriptions = [s for s in parts.subscriptions if s.purpose == purpose]
    if tables is None or not subscriptions:
        known = ", ".join(sorted(parts.read_models)) or "none"
        raise SystemExit(f"{parts.name} declares no read model for purpose {purpose!r} (declared: {known})")
    result = ReplayResult(parts.name, purpose, tables=[t.name for t in tables])
    durables = [s.durable(parts.name) for s in subscriptions]
    servers = [u for u in (nats_url or "").split(",") if u] or parts.nats_servers or [DEFAULT_NATS_URL]
    await asyncio.to_thread(upgrade, parts.migrations, parts.database_url)
    nc = await nats.connect(servers, connect_timeout=5, max_reconnect_attempts=3)
    console = console or Console(stderr=True)
    try:
        js = nc.jetstream()
        async with parts.db.uow() as uow:
            if not parts.db.sqlite:
                names = ", ".join(f'"{t.name}"' for t in [parts.db.inbox, *tables])
                await uow.session.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
            await uow.session.execute(delete(parts.db.inbox).where(parts.db.inbox.c.consumer.in_(durables)))
            in_dependency_order = [t for t in tables[0].metadata.sorted_tables if t in tables]
            for table in reversed(in_dependency_order):
                await uow.session.execute(delete(table))
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=False) as progress:
                for subscription, durable in zip(subscriptions, durables, strict=True):
                    last_seq = (await js.stream_info(subscription.stream.name)).state.last_seq
                    result.last_seq[subscription.stream.name] = last_seq
                    task = progress.add_task(f"{durable}: reading", total=last_seq or 1)
                    msgs = await read_stream(js, subscription, last_seq)
                    progress.update(task, description=f"{durable}: applying", completed=0, total=len(msgs) or 1)
                    batch: list[_Item] = []
                    for msg in msgs:
                        try:
                            item = parse_message(subscription, msg)
                        except PoisonMessage as exc:
                            result.skipped_poison += 1
                            log.warning("replay.poison_skipped", consumer=durable, seq=msg.metadata.sequence.stream,
                                        reason=str(exc)[:300])
                            item = None
                        if item is not None:
                            batch.append(item)
                        if len(batch) >= subscription.batch_size:
                            await _apply_batch(uow, parts, durable, batch, result)
                            batch = []
                        progress.advance(task)
                    if batch:
                        await _apply_batch(uow, parts, durable, batch, result)
                    progress.update(task, description=f"{durable}: done", completed=len(msgs) or 1)
    finally:
        await nc.close()
        await parts.db.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.replay", description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--purpose", default="main", help="which consumers' read models to rebuild (default: main)")
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", ""),
                        help=f"NATS server(s), comma-separated (default: NATS_URL, else {DEFAULT_NATS_URL})")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    result = asyncio.run(replay(load_service(args.service), args.purpose, args.nats_url, console))
    console.print(
        f"rebuilt {', '.join(result.tables)} of {result.service} ({result.purpose}): {result.applied} events applied, "
        f"{result.skipped_poison} unreadable and {result.skipped_failed} failing events skipped "
        f"(streams up to {', '.join(f'{k}#{v}' for k, v in result.last_seq.items())})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
