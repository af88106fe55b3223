"""The relay's publisher (runtime/outbox.py `AckedPublisher`) against a real nats-server: a
stored message resolves its future, a refused one fails it with JetStream's error, a subject
no stream listens to fails it as "no responders", and a duplicate Nats-Msg-Id is acknowledged
(and stored once)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import DiscardPolicy, StreamConfig
from nats.js.errors import APIError, NoStreamResponseError

from runtime.outbox import AckedPublisher
from runtime.processes import NatsServer


@pytest.fixture
async def stream(nats_server: NatsServer) -> AsyncIterator[tuple[NATS, str]]:
    name = f"PUB{uuid.uuid4().hex[:8].upper()}"
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    # two messages at most, and the third is refused rather than an old one dropped
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"], max_msgs=2, discard=DiscardPolicy.NEW))
    try:
        yield nc, name
    finally:
        await js.delete_stream(name)
        await nc.close()


async def test_acks_refusals_and_missing_streams_reach_their_futures(stream: tuple[NATS, str]) -> None:
    nc, name = stream
    publisher = AckedPublisher(nc)
    await publisher.start()
    subject = f"{name.lower()}.delegate.checked_in"
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    stored = [await publisher.publish(subject, b"{}", {"Nats-Msg-Id": msg_id}) for msg_id in (first, second, first)]
    assert await asyncio.wait_for(asyncio.gather(*stored), 10) == [None, None, None]
    assert (await nc.jetstream().stream_info(name)).state.messages == 2  # the repeat was dropped

    refused = await publisher.publish(subject, b"{}", {"Nats-Msg-Id": str(uuid.uuid4())})
    with pytest.raises(APIError) as error:
        await asyncio.wait_for(refused, 10)
    assert "maximum messages exceeded" in str(error.value)

    nowhere = await publisher.publish("nostream.anything", b"{}", {"Nats-Msg-Id": str(uuid.uuid4())})
    with pytest.raises(NoStreamResponseError):
        await asyncio.wait_for(nowhere, 10)

    await publisher.stop()


async def test_forgotten_publishes_leave_nothing_waiting(stream: tuple[NATS, str]) -> None:
    nc, _name = stream
    silent = await nc.subscribe("silent.listener")  # a responder that never answers: no ack comes
    publisher = AckedPublisher(nc)
    await publisher.start()
    futures = [await publisher.publish("silent.listener", b"{}", {"Nats-Msg-Id": str(uuid.uuid4())})
               for _ in range(2)]
    await asyncio.sleep(0.2)
    assert len(publisher._waiting) == 2 and not any(f.done() for f in futures)
    publisher.forget(futures)
    assert publisher._waiting == {}
    await publisher.stop()
    await silent.unsubscribe()
