"""Durable pull consumers with an idempotent inbox, bounded redelivery and a dead-letter stream.

One durable consumer per (service, purpose, stream), shared by every replica of the service,
so two replicas never apply the same event. A batch of messages is applied in one
transaction together with their inbox rows (`consumer`, `event_id`), and acked only after
the commit. A redelivered event finds its inbox row and is a no-op.

A message that fails is retried with backoff (nak with delay); after `max_deliveries` it is
published to `deadletter.<service>.<durable>` with the error, the consumer and the original
headers, and acked, so the next message flows. A message that cannot even be parsed (unknown
version, invalid body) is dead-lettered at once: retrying cannot fix it.

Every applied event gets one `consumer.applied` log line bound to its correlation id, so one
grep follows a request from the HTTP line of one service to the consumer lines of another.
Handlers that need the message's stream position read `current_delivery`. `apply_in` is the
one code path that applies events: the live loop and `runtime.replay` both go through it.

FastStream's pull subscriber waits up to its timeout to fill a batch; at 1,000 events/s that
alone costs tens of milliseconds per event, so this loop fetches whatever is available now
and blocks only when nothing is.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats.js.api as jsapi
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from pydantic import ValidationError
from sqlalchemy import Table, insert, select

from contracts.base import Event, event_class_for
from contracts.streams import StreamSpec, dead_letter_subject
from runtime import context, metrics
from runtime.db import Database, UnitOfWork, utcnow
from runtime.faults import fault_point

log = structlog.get_logger()

Handler = Callable[[Event, UnitOfWork], Awaitable[None]]

NO_WAIT_REPLY_TIMEOUT = 2.0

BACKOFF_SECONDS = (0.5, 2.0, 5.0, 15.0, 30.0)


class PoisonMessage(Exception):
    """A message that no retry can fix (unknown version, invalid body)."""


@dataclass(frozen=True)
class Delivery:
    """Where the event being handled came from. Handlers get the parsed event only; the few that
    need the stream position (the documents event log) read it from `current_delivery`."""

    stream: str
    stream_seq: int
    subject: str
    headers: dict[str, str]


current_delivery: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar("current_delivery", default=None)


@dataclass
class Subscription:
    """The handlers of one durable consumer on one stream: `<service>-<purpose>-<stream>`."""

    stream: StreamSpec
    handlers: dict[type[Event], Handler]
    purpose: str = "main"
    batch_size: int = 100

    def durable(self, service: str) -> str:
        return f"{service}-{self.purpose}-{self.stream.name.lower()}"

    def handler_for(self, subject: str) -> tuple[type[Event], Handler] | None:
        cls = event_class_for(subject)
        if cls is None or cls not in self.handlers:
            return None
        return cls, self.handlers[cls]


@dataclass
class _Item:
    msg: Msg
    event: Event
    handler: Handler


@dataclass
class InboxConsumer:
    service: str
    db: Database
    subscription: Subscription
    max_deliveries: int = 5
    ack_wait: float = 120.0
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _running: bool = field(default=False, init=False)

    @property
    def durable(self) -> str:
        return self.subscription.durable(self.service)

    async def start(self, nc: NatsClient, js: JetStreamContext) -> None:
        self._js = js
        spec = self.subscription.stream
        config = jsapi.ConsumerConfig(
            durable_name=self.durable,
            ack_policy=jsapi.AckPolicy.EXPLICIT,
            deliver_policy=jsapi.DeliverPolicy.ALL,
            max_deliver=-1,  # we count deliveries and dead-letter ourselves
            ack_wait=self.ack_wait,
            max_ack_pending=max(1000, self.subscription.batch_size * 4),
            filter_subject=spec.subjects[0] if len(spec.subjects) == 1 else None,
        )
        self._max_payload = nc.max_payload or 1024 * 1024
        await js.add_consumer(spec.name, config)
        self._psub = await js.pull_subscribe_bind(durable=self.durable, stream=spec.name)
        self._running = True
        self._task = asyncio.create_task(self._loop(), name=f"consumer-{self.durable}")

    async def stop(self) -> None:
        self._running = False
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
        try:
            await self._psub.unsubscribe()
        except Exception:  # noqa: BLE001 - connection may be gone already
            pass

    async def _fetch(self) -> list[Msg]:
        """Block until one message arrives, then take what is already waiting, without waiting
        for more: batches grow with the backlog and a lone event is applied at once.

        nats-py's fetch(batch) waits for the rest of a batch until its deadline once the first
        message arrived (a lone event would sit there for the whole timeout), so the second
        step is a no_wait pull request of its own on the same subscription.
        """
        try:
            first = await self._psub.fetch(1, timeout=5)
        except (NatsTimeoutError, TimeoutError):
            return []
        if self.subscription.batch_size <= 1:
            return first
        return first + await self._waiting(self.subscription.batch_size - 1)

    async def _waiting(self, limit: int) -> list[Msg]:
        psub = self._psub
        request = json.dumps({"batch": limit, "no_wait": True}).encode()
        await psub._nc.publish(psub._nms, request, psub._deliver)  # noqa: SLF001 - see _fetch
        msgs: list[Msg] = []
        while len(msgs) < limit:
            try:
                # The server answers a no_wait pull at once: the waiting messages, then a
                # "no messages" status when there were fewer than asked for.
                msg = await psub._sub.next_msg(timeout=NO_WAIT_REPLY_TIMEOUT)  # noqa: SLF001
            except (NatsTimeoutError, TimeoutError):
                break
            if JetStreamContext.is_status_msg(msg):
                break
            msgs.append(msg)
        return msgs

    async def _loop(self) -> None:
        while self._running:
            try:
                msgs = await self._fetch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS reconnecting: wait and fetch again
                log.warning("consumer.fetch_failed", consumer=self.durable, error=str(exc) or type(exc).__name__)
                await asyncio.sleep(1)
                continue
            if msgs:
                try:
                    await self.process(msgs)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - never let the loop die; messages get redelivered
                    log.error("consumer.batch_failed", consumer=self.durable, error=str(exc), exc_info=True)
                    await asyncio.sleep(1)

    async def process(self, msgs: list[Msg]) -> None:
        items: list[_Item] = []
        for msg in msgs:
            if msg.metadata.num_delivered > 1:
                metrics.EVENTS_REDELIVERED.labels(self.service, self.durable).inc()
            try:
                item = self._parse(msg)
            except PoisonMessage as exc:
                await self._dead_letter(msg, str(exc))
                continue
            if item is None:
                await msg.ack()  # an event of this stream that this consumer does not handle
                continue
            items.append(item)
        if not items:
            return
        try:
            await self._apply(items)
        except Exception as exc:  # noqa: BLE001 - one bad event must not hold back the batch
            if len(items) == 1:
                await self._failed(items[0], exc)
                return
            for item in items:
                try:
                    await self._apply([item])
                except Exception as single_exc:  # noqa: BLE001
                    await self._failed(item, single_exc)

    def _parse(self, msg: Msg) -> _Item | None:
        return parse_message(self.subscription, msg)

    async def _apply(self, items: list[_Item]) -> None:
        async with self.db.uow() as uow:
            applied = await apply_in(uow, self.db.inbox, self.service, self.durable, items)
        fault_point("inbox.after_commit")
        for item in items:
            await item.msg.ack()
        metrics.EVENTS_CONSUMED.labels(self.service, self.durable).inc(len(applied))
        for item in applied:  # the fields bound_event_context would bind, without binding (per event, hot)
            event_ = item.event
            log.info("consumer.applied", consumer=self.durable, stream_seq=item.msg.metadata.sequence.stream,
                     correlation_id=event_.correlation_id, event_id=str(event_.event_id), subject=event_.subject)

    async def _failed(self, item: _Item, exc: Exception) -> None:
        deliveries = item.msg.metadata.num_delivered
        with bound_event_context(item.event):
            if deliveries >= self.max_deliveries:
                await self._dead_letter(item.msg, f"{type(exc).__name__}: {exc}")
                return
            delay = BACKOFF_SECONDS[min(deliveries - 1, len(BACKOFF_SECONDS) - 1)]
            log.warning(
                "consumer.event_failed", consumer=self.durable, deliveries=deliveries, retry_in=delay, error=str(exc)
            )
            await item.msg.nak(delay=delay)

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        meta = msg.metadata
        headers = dict(msg.headers or {})
        headers.update(
            {
                "Dead-Letter-Msg-Id": headers.get("Nats-Msg-Id", ""),
                "Nats-Msg-Id": f"dl:{self.durable}:{meta.sequence.stream}",
                "Dead-Letter-Reason": reason[:2000],
                "Dead-Letter-Consumer": self.durable,
                "Dead-Letter-Subject": msg.subject,
                "Dead-Letter-Deliveries": str(meta.num_delivered),
                "Dead-Letter-Stream": meta.stream,
                "Dead-Letter-Stream-Seq": str(meta.sequence.stream),
            }
        )
        data = msg.data
        # The dead letter adds headers to the original: a message near the server's max_payload
        # would no longer fit, and nats-server closes the connection of a client that publishes
        # too much (every consumer and the outbox of this process would stop). The original
        # stays in its stream (Dead-Letter-Stream/-Stream-Seq): keep only its beginning here.
        room = getattr(self, "_max_payload", 1024 * 1024) - _headers_size(headers) - 1024
        if len(data) > room:
            headers["Dead-Letter-Truncated"] = str(len(data))
            data = data[: max(room - 64, 0)]
        await self._js.publish(dead_letter_subject(self.service, self.durable), data, headers=headers)
        await msg.ack()
        metrics.EVENTS_DEAD_LETTERED.labels(self.service, self.durable).inc()
        log.error("consumer.dead_lettered", consumer=self.durable, subject=msg.subject, reason=reason[:500])


def _headers_size(headers: dict[str, str]) -> int:
    """Bytes the headers take on the wire (NATS/1.0 line, `key: value` lines, blank line)."""
    return 16 + sum(len(k.encode()) + len(str(v).encode()) + 4 for k, v in headers.items())


def parse_message(subscription: Subscription, msg: Msg) -> _Item | None:
    """The event in `msg` with its handler; None when this subscription does not handle it.

    Raises PoisonMessage when no retry can help (unknown type or version, invalid body).
    """
    headers = msg.headers or {}
    subject = headers.get("Event-Type") or msg.subject
    found = subscription.handler_for(subject)
    if found is None:
        if subject.split(".", 1)[0] in ("congress", "documents", "signing") and event_class_for(subject) is None:
            raise PoisonMessage(f"unknown event type {subject!r}")
        return None
    cls, handler = found
    version = headers.get("Event-Version", "1")
    if version != str(cls.schema_version):
        raise PoisonMessage(f"unsupported version {version!r} of {subject} (this consumer knows {cls.schema_version})")
    try:
        event_ = cls.model_validate_json(msg.data)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid {subject}: {exc.errors(include_url=False)[:3]}") from exc
    return _Item(msg, event_, handler)


async def apply_in(uow: UnitOfWork, inbox: Table, service: str, durable: str, items: list[_Item]) -> list[_Item]:
    """Apply events in the caller's transaction, each with its inbox row; returns those applied.

    The live consumer calls this once per batch; `runtime.replay` calls it for every batch of
    a rebuild, so a replayed event takes exactly the path a live one does.
    """
    ids = [str(item.event.event_id) for item in items]
    done = set(
        (
            await uow.session.scalars(
                select(inbox.c.event_id).where(inbox.c.consumer == durable, inbox.c.event_id.in_(ids))
            )
        ).all()
    )
    applied: list[_Item] = []
    for item in items:
        event_id = str(item.event.event_id)
        if event_id in done:
            metrics.EVENTS_DUPLICATE.labels(service, durable).inc()
            continue
        done.add(event_id)
        meta = item.msg.metadata
        delivery = Delivery(meta.stream, meta.sequence.stream, item.msg.subject, dict(item.msg.headers or {}))
        token = current_delivery.set(delivery)
        try:
            with bound_event_context(item.event):
                await item.handler(item.event, uow)
        finally:
            current_delivery.reset(token)
        applied.append(item)
    if applied:
        # One multi-row statement for the whole batch: same transaction, one round trip.
        now = utcnow()
        await uow.session.execute(
            insert(inbox),
            [
                {"consumer": durable, "event_id": str(item.event.event_id), "subject": item.event.subject,
                 "processed_at": now}
                for item in applied
            ],
        )
    return applied


class bound_event_context:
    """Binds the event's correlation id (and it as the cause) to logs and to events emitted now."""

    def __init__(self, event_: Event) -> None:
        self.event = event_

    def __enter__(self) -> None:
        self._tokens = (
            context.correlation_id.set(self.event.correlation_id),
            context.causation_id.set(str(self.event.event_id)),
            context.actor.set(self.event.actor),
        )
        structlog.contextvars.bind_contextvars(
            correlation_id=self.event.correlation_id, event_id=str(self.event.event_id), subject=self.event.subject
        )

    def __exit__(self, *exc: object) -> None:
        context.correlation_id.reset(self._tokens[0])
        context.causation_id.reset(self._tokens[1])
        context.actor.reset(self._tokens[2])
        structlog.contextvars.unbind_contextvars("correlation_id", "event_id", "subject")
