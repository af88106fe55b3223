"""The NATS side of a service: the FastStream broker, connecting with retry, streams and buckets."""

from __future__ import annotations

import asyncio
import logging

import nats.js.api as jsapi
import structlog
from faststream.nats import NatsBroker
from faststream.nats.security import NatsCredentials, NatsUserPassword
from nats.aio.client import DEFAULT_INBOX_PREFIX
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError

from contracts.streams import (
    BLOB_BUCKET,
    DEAD_LETTER,
    DUPLICATE_WINDOW_SECONDS,
    RATE_LIMIT_KV_BUCKET,
    SERVICE_STREAMS,
    SHARED_KV_BUCKET,
    StreamSpec,
)

log = structlog.get_logger()


def make_broker(
    servers: list[str],
    name: str,
    *,
    user: str = "",
    password: str = "",
    creds: str = "",
    inbox_prefix: str = "",
) -> NatsBroker:
    """The broker of one process; `user`/`password` or `creds` authenticate it, and its reply
    inboxes live under `inbox_prefix` (the only inboxes its NATS user may subscribe to)."""
    security = None
    if creds:
        security = NatsCredentials(creds)
    elif user:
        security = NatsUserPassword(user, password)
    return NatsBroker(
        servers,
        name=name,
        security=security,
        inbox_prefix=inbox_prefix or DEFAULT_INBOX_PREFIX,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        # FastStream logs every message at INFO; that costs 15-30 % throughput (FACTS.md).
        log_level=logging.DEBUG,
        graceful_timeout=10,
    )


async def connect_with_retry(broker: NatsBroker, stop: asyncio.Event | None = None) -> None:
    """Services do not depend on start order: keep trying until NATS answers."""
    delay = 0.2
    while True:
        try:
            await broker.connect()
            return
        except Exception as exc:  # noqa: BLE001 - any connection failure means "try again"
            log.warning("nats.connect_failed", error=str(exc), retry_in=delay)
            if stop is not None and stop.is_set():
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _stream_config(spec: StreamSpec, replicas: int) -> jsapi.StreamConfig:
    return jsapi.StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description,
        retention=jsapi.RetentionPolicy.LIMITS,
        storage=jsapi.StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=0,
        max_bytes=-1,
        max_msgs=-1,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, replicas: int, *, may_update: bool = True) -> None:
    """Create the stream when missing; bring its config in line only when `may_update` (its owner)."""
    config = _stream_config(spec, replicas)
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
            log.info("nats.stream_created", stream=spec.name, replicas=replicas)
        except BadRequestError:
            pass  # another replica created it meanwhile
        return
    current = info.config
    if may_update and (
        sorted(current.subjects or []) != sorted(config.subjects or [])
        or current.duplicate_window != config.duplicate_window
        or (current.num_replicas or 1) != replicas
    ):
        await js.update_stream(config)
        log.info("nats.stream_updated", stream=spec.name, replicas=replicas)


async def ensure_jetstream(js: JetStreamContext, replicas: int, *, owner: str | None = None) -> None:
    """Streams, dead-letter stream, blob Object Store and KV buckets; idempotent at every start.

    Every service creates whatever is missing, so no service waits for another to have started
    once. With `owner` set, only that service's own stream and the dead-letter stream are
    updated to match the contracts: the deploy permissions let a service change no other
    service's stream (deploy/nats/accounts.conf).
    """
    for spec in (*SERVICE_STREAMS.values(), DEAD_LETTER):
        owned = owner is None or spec is DEAD_LETTER or SERVICE_STREAMS.get(owner) is spec
        await ensure_stream(js, spec, replicas, may_update=owned)
    try:
        await js.object_store(BLOB_BUCKET)
    except (BucketNotFoundError, NotFoundError):
        try:
            await js.create_object_store(
                BLOB_BUCKET,
                config=jsapi.ObjectStoreConfig(
                    bucket=BLOB_BUCKET,
                    description="Content-addressed blobs (name = sha256)",
                    storage=jsapi.StorageType.FILE,
                    replicas=replicas,
                ),
            )
        except BadRequestError:
            pass
    for bucket, ttl, history in ((SHARED_KV_BUCKET, None, 5), (RATE_LIMIT_KV_BUCKET, 3600, 1)):
        try:
            await js.key_value(bucket)
        except (BucketNotFoundError, NotFoundError):
            try:
                await js.create_key_value(
                    jsapi.KeyValueConfig(
                        bucket=bucket, history=history, ttl=ttl, storage=jsapi.StorageType.FILE, replicas=replicas
                    )
                )
            except BadRequestError:
                pass
