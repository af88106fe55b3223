"""Events through the whole path: outbox -> JetStream -> inbox consumer -> DB commit.

Two figures, each against a real nats-server (fresh per figure), with the producer and the
consumer as separate OS processes (two cores: one each), the way two services run:

1. Throughput: a congress-like producer commits check-ins through `Database.uow()` /
   `uow.emit()` (10 per transaction, like a batch check-in at the door) while its
   `OutboxRelay` publishes them; a consumer `InboxConsumer` applies each into a table of its
   own database (a real insert, plus its inbox row) and acks after commit. Measured from
   the first commit to the last applied event, compared with the raw FastStream pull
   consumer rate (PullSub batch 100, ack each, no database) measured in the same run.
   Goal: at least 50 % of raw.
2. Latency at 1,000 events/s: one event per transaction, paced at 1,000/s for 5 s;
   latency = consumer commit done - event created (just before the producer's commit).
   Goal: p50 < 20 ms, p99 < 100 ms.

The consumer logs at INFO as the services do (one JSON line per applied event, to a file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import Figure, percentile
from runtime.processes import REPO_ROOT, NatsServer

THROUGHPUT_EVENTS = 20_000
RAW_MESSAGES = 20_000
LATENCY_RATE = 1_000
LATENCY_SECONDS = 5
PER_TRANSACTION = 10
FACTS_RAW = 6_400.0


# --------------------------------------------------------------------------- raw baseline


async def raw_pull_rate(nats_url: str, count: int) -> float:
    """Messages/s of a FastStream pull subscriber (batch 100, ack each) draining `count` messages."""
    import nats
    from faststream.nats import JStream, NatsBroker, PullSub

    payload = json.dumps({"delegate_id": str(uuid.uuid4()), "checked_in_at": "2026-11-29T08:03:00+07:00",
                          "congress_id": str(uuid.uuid4()), "padding": "x" * 120}).encode()
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="BENCHRAW", subjects=["benchraw.>"])
    for start in range(0, count, 500):
        futures = [await js.publish_async("benchraw.checkin", payload) for _ in range(min(500, count - start))]
        await asyncio.gather(*futures)
    await nc.close()

    done = asyncio.Event()
    seen = 0
    broker = NatsBroker(nats_url, log_level=logging.DEBUG)

    @broker.subscriber("benchraw.checkin", stream=JStream("BENCHRAW", declare=False),
                       pull_sub=PullSub(batch_size=100, timeout=0.5), durable="raw")
    async def handle(body: dict) -> None:
        nonlocal seen
        seen += 1
        if seen >= count:
            done.set()

    started = time.perf_counter()
    await broker.start()
    await asyncio.wait_for(done.wait(), timeout=120)
    elapsed = time.perf_counter() - started
    await broker.stop()
    return count / elapsed


# --------------------------------------------------------------------------- the two sides


def _tables(metadata):  # type: ignore[no-untyped-def]
    from sqlalchemy import Column, String, Table

    from runtime.db import UTCDateTime

    return Table(
        "checkins",
        metadata,
        Column("delegate_id", String(36), primary_key=True),
        Column("congress_id", String(36), nullable=False),
        Column("checked_in_at", UTCDateTime, nullable=False),
    )


async def _database(path: Path):  # type: ignore[no-untyped-def]
    from runtime.db import Database, new_metadata, reliability_tables

    metadata = new_metadata()
    outbox, inbox = reliability_tables(metadata)
    checkins = _tables(metadata)
    db = Database(f"sqlite:///{path}", outbox, inbox)
    async with db.write_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return db, checkins


async def produce(nats_url: str, db_path: Path, count: int, rate: float, per_tx: int, backlog: bool = False) -> None:
    """A congress-like producer: check-ins committed with their events; the relay publishes them.

    With `backlog`, everything is committed first and the relay starts afterwards (as after
    an outage); the relay's start time is printed for the caller to measure the drain.
    """
    import nats

    import contracts.congress as cc
    from runtime.broker import ensure_jetstream
    from runtime.db import utcnow
    from runtime.outbox import OutboxRelay

    db, checkins = await _database(db_path)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_jetstream(js, 1)
    relay = OutboxRelay(db, "bench-producer")
    if not backlog:
        relay.start(nc)
    congress_id = uuid.uuid4()
    insert_checkin = checkins.insert()  # one statement, parameters per call: compiled once
    interval = per_tx / rate if rate else 0.0
    started = time.perf_counter()
    for n in range(0, count, per_tx):
        if interval:
            delay = started + (n // per_tx) * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        async with db.uow() as uow:
            for _ in range(min(per_tx, count - n)):
                delegate_id = uuid.uuid4()
                now = utcnow()
                await uow.session.execute(
                    insert_checkin, {"delegate_id": str(delegate_id), "congress_id": str(congress_id),
                                     "checked_in_at": now})
                await uow.emit(cc.DelegateCheckedIn(congress_id=congress_id, delegate_id=delegate_id,
                                                    checked_in_at=now, occurred_at=now))
        if not interval:
            await asyncio.sleep(0)  # let the relay run between commits, as between requests
    if backlog:
        print(f"relay_started {time.time()}", flush=True)
        relay.start(nc)
    while await relay.pending_count():
        await asyncio.sleep(0.05)
    await relay.stop()
    await nc.close()
    await db.dispose()


async def consume(nats_url: str, db_path: Path, count: int, out: Path) -> None:
    """The consumer side: the real InboxConsumer applying each check-in into its own table."""
    import nats

    import contracts.congress as cc
    from contracts.streams import SERVICE_STREAMS
    from runtime.broker import ensure_jetstream
    from runtime.inbox import InboxConsumer, Subscription
    from runtime.logs import configure_logging

    configure_logging("bench-consumer", "json", os.environ.get("BENCH_LOG_LEVEL", "INFO"))
    db, checkins = await _database(db_path)
    latencies: list[float] = []
    applied_at: list[float] = []
    done = asyncio.Event()

    async def record_checkin(event: cc.DelegateCheckedIn, uow) -> None:  # type: ignore[no-untyped-def]
        """Copy the check-in (a copy nothing reads back in the same transaction: written with the
        batch's other copies in one statement, as documents' event log writes its rows)."""
        uow.insert_later(checkins, {"delegate_id": str(event.delegate_id), "congress_id": str(event.congress_id),
                                    "checked_in_at": event.checked_in_at})

    class TimedConsumer(InboxConsumer):
        # Timing only: the batch is committed and acked when super()._apply returns.
        async def _apply(self, items):  # type: ignore[no-untyped-def]
            await super()._apply(items)
            now = time.time()
            for item in items:
                latencies.append(now - item.event.occurred_at.timestamp())
                applied_at.append(now)
            if len(latencies) >= count:
                done.set()

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_jetstream(js, 1)
    consumer = TimedConsumer("bench", db, Subscription(SERVICE_STREAMS["congress"], {cc.DelegateCheckedIn: record_checkin},
                                                      purpose="bench"))
    await consumer.start(nc, js)
    print("ready", flush=True)
    await asyncio.wait_for(done.wait(), timeout=300)
    await consumer.stop()
    await nc.close()
    await db.dispose()
    out.write_text(json.dumps({"latencies": latencies, "last_applied": max(applied_at),
                               "first_created": min(t - lat for t, lat in zip(applied_at, latencies, strict=True))}))


def _side(argv: list[str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bench.bench_events", *argv], cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=open(log, "ab"))  # noqa: SIM115


def pipeline(tmp: Path, name: str, count: int, rate: float, per_tx: int, backlog: bool = False) -> dict:
    nats = NatsServer(tmp / name / "nats", log_path=tmp / name / "nats.log").start()
    try:
        out = tmp / name / "result.json"
        consumer = _side(["consume", nats.url, str(tmp / name / "consumer.sqlite3"), str(count), str(out)],
                         tmp / name / "consumer.log")
        assert consumer.stdout is not None
        if consumer.stdout.readline().strip() != "ready":
            raise RuntimeError(f"consumer did not start: {(tmp / name / 'consumer.log').read_text()[-2000:]}")
        producer = _side(["produce", nats.url, str(tmp / name / "producer.sqlite3"), str(count), str(rate),
                          str(per_tx), *(["--backlog"] if backlog else [])], tmp / name / "producer.log")
        if consumer.wait(timeout=300) != 0 or producer.wait(timeout=60) != 0:
            raise RuntimeError(f"{name} failed: {(tmp / name / 'consumer.log').read_text()[-2000:]}")
        result = json.loads(out.read_text())
        assert producer.stdout is not None
        for line in producer.stdout.read().splitlines():
            if line.startswith("relay_started "):
                result["relay_started"] = float(line.split()[1])
        return result
    finally:
        nats.stop()


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-events-") as name:
        tmp = Path(name)
        nats = NatsServer(tmp / "raw" / "nats", log_path=tmp / "raw" / "nats.log").start()
        try:
            raw = asyncio.run(raw_pull_rate(nats.url, RAW_MESSAGES))
        finally:
            nats.stop()
        result = pipeline(tmp, "throughput", THROUGHPUT_EVENTS, 0, PER_TRANSACTION)
        rate = THROUGHPUT_EVENTS / (result["last_applied"] - result["first_created"])
        drain = pipeline(tmp, "drain", THROUGHPUT_EVENTS, 0, PER_TRANSACTION, backlog=True)
        drain_rate = THROUGHPUT_EVENTS / (drain["last_applied"] - drain["relay_started"])
        latency = pipeline(tmp, "latency", LATENCY_RATE * LATENCY_SECONDS, LATENCY_RATE, 1)
        lat_ms = [x * 1000 for x in latency["latencies"]]
        p50, p99 = statistics.median(lat_ms), percentile(lat_ms, 99)
        return [
            Figure("raw FastStream pull consumer (batch 100)", "reference", raw, FACTS_RAW, True, "msg/s"),
            Figure("outbox -> JetStream -> inbox -> commit", ">= 50% of raw", rate, raw, rate >= 0.5 * raw, "ev/s"),
            Figure("  share of raw", ">= 50%", f"{rate / raw:.0%}", None, rate >= 0.5 * raw),
            Figure("  same, draining a committed outbox backlog", ">= 50% of raw", drain_rate, raw,
                   drain_rate >= 0.5 * raw, "ev/s"),
            Figure("  share of raw (backlog drain)", ">= 50%", f"{drain_rate / raw:.0%}", None, drain_rate >= 0.5 * raw),
            Figure("commit-to-applied p50 at 1,000 ev/s", "< 20 ms", p50, None, p50 < 20, "ms"),
            Figure("commit-to-applied p99 at 1,000 ev/s", "< 100 ms", p99, None, p99 < 100, "ms"),
        ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_events")
    sides = parser.add_subparsers(dest="side", required=True)
    p = sides.add_parser("produce")
    for arg in ("nats_url", "db"):
        p.add_argument(arg)
    p.add_argument("count", type=int)
    p.add_argument("rate", type=float)
    p.add_argument("per_tx", type=int)
    p.add_argument("--backlog", action="store_true")
    c = sides.add_parser("consume")
    for arg in ("nats_url", "db"):
        c.add_argument(arg)
    c.add_argument("count", type=int)
    c.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.side == "produce":
        asyncio.run(produce(args.nats_url, Path(args.db), args.count, args.rate, args.per_tx, args.backlog))
    else:
        asyncio.run(consume(args.nats_url, Path(args.db), args.count, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
