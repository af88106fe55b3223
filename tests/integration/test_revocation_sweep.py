"""Revocations leave the shared KV bucket once they can refuse nothing (congress/handlers/
revocations.py): a user's revoked-before older than an access token's life (plus the margin),
a session's revocation written longer ago than that; younger ones stay, a verifier following
the bucket forgets the swept ones, and the delete markers go too. Real nats-server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NATS

from congress import model
from congress.handlers.revocations import CLOCK_MARGIN, revocations, sweep
from contracts.streams import SHARED_KV_BUCKET
from runtime.auth import REVOKED_PREFIX, TokenVerifier
from runtime.broker import ensure_jetstream
from runtime.processes import NatsServer

HORIZON = model.ACCESS_TOKEN_SECONDS + CLOCK_MARGIN


@pytest.fixture
async def nc(tmp_path) -> AsyncIterator[NATS]:  # type: ignore[no-untyped-def]
    server = NatsServer(tmp_path / "nats", log_path=tmp_path / "nats.log").start()  # a bucket of its own
    client = await nats.connect(server.url)
    await ensure_jetstream(client.jetstream(), 1)
    try:
        yield client
    finally:
        await client.close()
        server.stop()


async def test_only_revocations_that_refuse_nothing_are_swept(nc: NATS) -> None:
    js = nc.jetstream()
    kv = await js.key_value(SHARED_KV_BUCKET)
    now = time.time()
    old_user, recent_user, session = (str(uuid.uuid4()) for _ in range(3))
    await kv.put(f"{REVOKED_PREFIX}user.{old_user}", repr(now - HORIZON - 60).encode())
    await kv.put(f"{REVOKED_PREFIX}user.{recent_user}", repr(now - 600).encode())
    await kv.put(f"{REVOKED_PREFIX}sid.{session}", b"1")
    verifier = TokenVerifier()
    await verifier.watch(js)
    await asyncio.sleep(0.2)
    assert set(verifier.revoked_users) == {old_user, recent_user} and verifier.revoked_sessions == {session}

    assert await sweep(kv, now) == 1
    assert sorted(entry.key for entry in await revocations(kv)) == sorted(
        [f"{REVOKED_PREFIX}user.{recent_user}", f"{REVOKED_PREFIX}sid.{session}"])
    for _ in range(50):
        if set(verifier.revoked_users) == {recent_user}:
            break
        await asyncio.sleep(0.05)
    assert set(verifier.revoked_users) == {recent_user} and verifier.revoked_sessions == {session}

    assert await sweep(kv, now + HORIZON + 60) == 2  # later, the session's and the recent one go too
    assert await revocations(kv) == []
    await kv.purge_deletes(olderthan=-1)  # what the next sweep does to markers older than half an hour
    info = await js.stream_info(f"KV_{SHARED_KV_BUCKET}")
    assert info.state.messages == 0
    await verifier.stop()
