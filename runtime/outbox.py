"""The outbox relay: publishes committed events to JetStream, then marks them sent.

A crash between publish and mark-sent republishes the row after restart with the same
`Nats-Msg-Id`, which JetStream drops inside its duplicate window; consumers' inboxes drop
anything older. Several replicas may relay at once: each publishes what it sees pending,
duplicates are dropped the same way, and nobody waits on a lock held by another.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api
from nats.js.client import NO_RESPONDERS_STATUS
from nats.js.errors import APIError, NoStreamResponseError
from sqlalchemy import bindparam, delete, func, select, update

from runtime import metrics
from runtime.db import Database, utcnow
from runtime.faults import fault_point

log = structlog.get_logger()

PUBLISH_ACK_TIMEOUT = 10.0
PURGE_EVERY = 3600.0  # seconds between deletions of old sent rows (and once at start)
PURGE_BATCH = 1000  # rows looked at per deleting transaction


class AckedPublisher:
    """Publishes to JetStream with an acknowledgement per message, many in flight, over one
    reply subscription: what `JetStreamContext.publish_async` does, without what it spends per
    message that a relay does not need (a semaphore wait, a token from os.urandom, a parsed
    PubAck): 20 -> 12 us of CPU a message, and the relay's process is the pipeline's busiest."""

    def __init__(self, nc: NATS) -> None:
        self._nc = nc
        self._prefix = ""
        self._subscription: Subscription | None = None
        self._sent = 0
        self._waiting: dict[str, asyncio.Future[None]] = {}

    @property
    def started(self) -> bool:
        return self._subscription is not None

    async def start(self) -> None:
        self._prefix = self._nc.new_inbox() + "."
        self._subscription = await self._nc.subscribe(self._prefix + "*", cb=self._on_reply)

    async def stop(self) -> None:
        if self._subscription is not None and not self._nc.is_closed:
            await self._subscription.unsubscribe()
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> asyncio.Future[None]:
        """Sends the message; the future resolves when JetStream has stored it (or refused it)."""
        self._sent += 1
        token = str(self._sent)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        try:
            await self._nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        except BaseException:
            del self._waiting[token]
            raise
        return future

    def forget(self, futures: list[asyncio.Future[None]]) -> None:
        """Stops waiting for these (their acks are not coming, or no longer matter)."""
        gone = {id(future) for future in futures}
        self._waiting = {token: f for token, f in self._waiting.items() if id(f) not in gone}

    async def _on_reply(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject[len(self._prefix) :], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get(api.Header.STATUS) == NO_RESPONDERS_STATUS:
            future.set_exception(NoStreamResponseError())
        elif b'"error"' in msg.data and "error" in (reply := json.loads(msg.data)):
            try:
                error = APIError.from_error(reply["error"])  # nats-py raises it (of its own class)
            except APIError as raised:
                error = raised
            future.set_exception(error)
        else:
            future.set_result(None)


class OutboxRelay:
    def __init__(self, db: Database, service: str, batch_size: int = 500, in_flight: int = 100,
                 keep_sent: timedelta | None = None) -> None:
        self.db = db
        self.service = service
        self.keep_sent = keep_sent
        self._next_purge = 0.0
        self.batch_size = batch_size
        self.in_flight = in_flight
        self._wake = asyncio.Event()
        self._publisher: AckedPublisher | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Built once: building a statement costs more than running it from SQLAlchemy's cache.
        outbox = db.outbox
        self._pending = (
            select(outbox.c.seq, outbox.c.subject, outbox.c.headers, outbox.c.payload)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(batch_size)
        )
        self._oldest = select(outbox.c.created_at).where(outbox.c.seq == bindparam("seq"))
        self._mark_sent = (
            update(outbox)
            .where(outbox.c.seq.in_(bindparam("seqs", expanding=True)))
            .values(sent_at=bindparam("now"), attempts=outbox.c.attempts + 1)
        )
        db.on_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def start(self, nc: NATS) -> None:
        self._publisher = AckedPublisher(nc)
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        if self._publisher is not None:
            await self._publisher.stop()

    async def _run(self) -> None:
        assert self._publisher is not None
        backoff = 0.1
        while not self._stopping:
            try:
                if not self._publisher.started:
                    await self._publisher.start()
                published = await self.publish_pending()
                backoff = 0.1
                if published:
                    continue  # there may be more
            except Exception as exc:  # noqa: BLE001 - NATS or DB down: retry with backoff
                log.warning("outbox.publish_failed", error=str(exc) or type(exc).__name__, retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self.keep_sent is not None and time.monotonic() >= self._next_purge:
                self._next_purge = time.monotonic() + PURGE_EVERY
                try:
                    await self.purge_sent(self.keep_sent)
                except Exception as exc:  # noqa: BLE001 - housekeeping: try again next time
                    log.warning("outbox.purge_failed", error=str(exc) or type(exc).__name__)
                continue  # events committed meanwhile go first
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                pass

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows in commit order; returns how many were published."""
        assert self._publisher is not None
        async with self.db.session() as session:
            rows = (await session.execute(self._pending)).all()
            oldest = await session.scalar(self._oldest, {"seq": rows[0].seq}) if rows else None
        await self._update_backlog_metrics(rows, oldest)
        if not rows:
            return 0
        sent: list[int] = []
        published: Counter[str] = Counter()
        try:
            for start in range(0, len(rows), self.in_flight):
                chunk = rows[start : start + self.in_flight]
                futures = [await self._publisher.publish(row.subject, row.payload, row.headers) for row in chunk]
                results = await self._acks(futures)
                for row, result in zip(chunk, results, strict=True):
                    if isinstance(result, BaseException):
                        raise result
                    sent.append(row.seq)
                    published[row.subject] += 1
        finally:
            for subject, count in published.items():
                metrics.EVENTS_PUBLISHED.labels(self.service, subject).inc(count)
            if sent:
                fault_point("outbox.after_publish")
                async with self.db.writer() as session, session.begin():
                    await session.execute(self._mark_sent, {"seqs": sent, "now": utcnow()})
        return len(sent)

    async def purge_sent(self, keep: timedelta) -> int:
        """Deletes the rows published and created more than `keep` ago; returns how many.

        Walks the table from its oldest row in short transactions (rows are created in seq
        order, so it stops at the first row younger than `keep`) and never touches a row still
        to publish, however old."""
        outbox = self.db.outbox
        cutoff = utcnow() - keep
        removed, after = 0, 0
        while True:
            async with self.db.writer() as session, session.begin():
                rows = (
                    await session.execute(
                        select(outbox.c.seq, outbox.c.created_at, outbox.c.sent_at)
                        .where(outbox.c.seq > after)
                        .order_by(outbox.c.seq)
                        .limit(PURGE_BATCH)
                    )
                ).all()
                old = [row.seq for row in rows if row.created_at < cutoff and row.sent_at is not None]
                if old:
                    await session.execute(delete(outbox).where(outbox.c.seq.in_(old)))
            removed += len(old)
            if len(rows) < PURGE_BATCH or rows[-1].created_at >= cutoff:
                break
            after = rows[-1].seq
            await asyncio.sleep(0)  # one batch at a time: the service's own writes interleave
        if removed:
            log.info("outbox.purged", rows=removed, kept_days=keep.total_seconds() / 86400)
        return removed

    async def _acks(self, futures: list[asyncio.Future[None]]) -> list[object]:
        # A publish whose ack never comes (a leader election ate it) must not hang the relay:
        # give up on the chunk and republish it, which deduplication makes harmless.
        assert self._publisher is not None
        done, pending = await asyncio.wait(futures, timeout=PUBLISH_ACK_TIMEOUT)
        for future in pending:
            future.cancel()
        if pending:
            self._publisher.forget(list(pending))
        return [
            future.exception() or future.result() if future in done else TimeoutError("no publish ack")
            for future in futures
        ]

    async def _update_backlog_metrics(self, rows: list, oldest: datetime | None) -> None:
        if not rows or oldest is None:
            metrics.OUTBOX_BACKLOG.labels(self.service).set(0)
            metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(0)
            return
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(max(0.0, time.time() - oldest.timestamp()))
        if len(rows) < self.batch_size:
            metrics.OUTBOX_BACKLOG.labels(self.service).set(len(rows))
            return
        async with self.db.session() as session:
            backlog = await session.scalar(
                select(func.count()).select_from(self.db.outbox).where(self.db.outbox.c.sent_at.is_(None))
            )
        metrics.OUTBOX_BACKLOG.labels(self.service).set(backlog or 0)

    async def pending_count(self) -> int:
        async with self.db.session() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(self.db.outbox).where(self.db.outbox.c.sent_at.is_(None))
                )
                or 0
            )
