"""The 3-node NATS cluster of deploy/nats/ against a single node, in the same run.

- Pause in accepted writes when the stream leader is SIGKILLed: one publisher awaits each
  ack on a 3-replica stream; the figure is the longest gap between two accepted writes
  around the kill. Goal <= 10 s; FACTS measured about 5.4 s for raw JetStream. Every write
  the publisher saw acknowledged must be in the stream afterwards, exactly once (it retries
  with the same Nats-Msg-Id, as the outbox relay does).
- Event throughput: 200-byte events published with 100 in flight (the outbox relay's way)
  and consumed by a durable pull consumer in batches of 100 (the inbox's way), on the cluster
  (3 replicas) and on one node (1 replica). Goal: cluster >= 0.25 x single node.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
import uuid
from pathlib import Path

import nats
import nats.js.api as jsapi
from nats.aio.client import Client as NatsClient

from bench.harness import Figure
from runtime.processes import NatsServer
from tests.cluster.harness import start_nats_cluster

EVENTS = 20_000
IN_FLIGHT = 100
PAYLOAD = b"x" * 200
MAX_PAUSE_S = 10.0
FACTS_PAUSE_S = 5.4
MIN_CLUSTER_RATIO = 0.25


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        cluster, passwords = start_nats_cluster(root / "cluster")
        single = None
        try:
            single = NatsServer(root / "single" / "store", log_path=root / "single.log").start()
            admin = {"user": "admin", "password": passwords["admin"]}
            single_rate = asyncio.run(event_throughput([single.url], {}, replicas=1))
            cluster_rate = asyncio.run(event_throughput(cluster.urls, admin, replicas=3))
            pause, lost, doubled = asyncio.run(pause_on_leader_kill(cluster, admin))
        finally:
            if single is not None:
                single.stop()
            cluster.stop()
    ratio = cluster_rate / single_rate
    return [
        Figure("cluster: write pause on leader kill", f"<= {MAX_PAUSE_S:.0f} s", pause, FACTS_PAUSE_S,
               pause <= MAX_PAUSE_S, "s"),
        Figure("cluster: acked writes lost / doubled", "0 / 0", f"{lost} / {doubled}", "0 / 0",
               lost == 0 and doubled == 0),
        Figure("events/s, 3-node cluster (R3)", "measured", cluster_rate, None, True, "/s"),
        Figure("events/s, single node (R1)", "measured", single_rate, None, True, "/s"),
        Figure("cluster / single node events/s", f">= {MIN_CLUSTER_RATIO}", ratio, 1.0, ratio >= MIN_CLUSTER_RATIO, "x"),
    ]


async def connect(urls: list[str], auth: dict[str, str]) -> NatsClient:
    return await nats.connect(urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2, **auth)


async def add_stream(js, name: str, replicas: int) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while True:
        try:
            await js.add_stream(jsapi.StreamConfig(name=name, subjects=[f"{name.lower()}.>"], num_replicas=replicas,
                                                   storage=jsapi.StorageType.FILE, duplicate_window=900))
            return
        except Exception:  # noqa: BLE001 - cluster still electing
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def event_throughput(urls: list[str], auth: dict[str, str], replicas: int) -> float:
    nc = await connect(urls, auth)
    try:
        js = nc.jetstream(timeout=10)
        stream = f"BENCH{uuid.uuid4().hex[:6].upper()}"
        await add_stream(js, stream, replicas)
        await js.add_consumer(stream, durable_name="bench", ack_policy=jsapi.AckPolicy.EXPLICIT,
                              max_ack_pending=10_000)
        psub = await js.pull_subscribe_bind(durable="bench", stream=stream)
        subject = f"{stream.lower()}.event.happened"
        started = time.perf_counter()

        async def publish() -> None:
            for start in range(0, EVENTS, IN_FLIGHT):
                futures = [await js.publish_async(subject, PAYLOAD, headers={"Nats-Msg-Id": f"{stream}-{i}"})
                           for i in range(start, min(start + IN_FLIGHT, EVENTS))]
                await asyncio.gather(*futures)

        async def consume() -> None:
            seen = 0
            while seen < EVENTS:
                try:
                    msgs = await psub.fetch(100, timeout=5)
                except nats.errors.TimeoutError:
                    continue
                for msg in msgs:
                    await msg.ack()
                seen += len(msgs)

        await asyncio.gather(publish(), consume())
        return EVENTS / (time.perf_counter() - started)
    finally:
        await nc.close()


async def pause_on_leader_kill(cluster, auth: dict[str, str]) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    nc = await connect(cluster.urls, auth)
    try:
        js = nc.jetstream(timeout=2)
        stream = "PAUSE"
        await add_stream(js, stream, 3)
        leader = (await js.stream_info(stream)).cluster.leader
        acked: list[str] = []
        ack_times: list[float] = []
        kill_at = time.monotonic() + 2.0
        killed_at = None
        end = None
        n = 0
        while end is None or time.monotonic() < end:
            if killed_at is None and time.monotonic() >= kill_at:
                cluster.nodes[cluster.index_of(leader)].kill()
                killed_at = time.monotonic()
                end = killed_at + 15.0
            msg_id = f"w-{n}-{secrets.token_hex(4)}"
            while True:  # retry the same write until it is accepted, as the outbox relay does
                try:
                    await js.publish("pause.write", PAYLOAD, headers={"Nats-Msg-Id": msg_id})
                    break
                except Exception:  # noqa: BLE001 - leader gone, electing
                    await asyncio.sleep(0.05)
            acked.append(msg_id)
            ack_times.append(time.monotonic())
            n += 1
        gaps = [b - a for a, b in zip(ack_times, ack_times[1:], strict=False) if a >= kill_at - 1]
        pause = max(gaps) if gaps else 0.0
        # everything acknowledged is there, once
        total = (await js.stream_info(stream)).state.messages
        sub = await js.subscribe("pause.write", stream=stream, ordered_consumer=True)
        seen: dict[str, int] = {}
        for _ in range(total):
            msg = await sub.next_msg(timeout=10)
            key = (msg.headers or {}).get("Nats-Msg-Id", "")
            seen[key] = seen.get(key, 0) + 1
        await sub.unsubscribe()
        lost = sum(1 for key in acked if key not in seen)
        doubled = sum(1 for count in seen.values() if count > 1)
        cluster.nodes[cluster.index_of(leader)].start()
        return pause, lost, doubled
    finally:
        await nc.close()
