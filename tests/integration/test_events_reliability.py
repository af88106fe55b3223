"""Nothing lost, nothing doubled: the outbox, the inbox and the dead letters against real crashes.

A real nats-server and the services as separate OS processes. Each crash is a real SIGKILL at a
named fault point (FAULT_POINTS in the process's environment, runtime/faults.py). Every test
gets a fresh NATS and fresh databases, so stream positions and durable consumers never leak
from one test into another. The documents service's event log (one row per consumed event,
`event_id` unique) and its copy of staff accounts are what "applied" means.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

import contracts.congress as cc
from documents.db import metadata as documents_metadata
from runtime.processes import REPO_ROOT, NatsServer, ServiceProcess
from tests.support.events import (
    DatabaseReader,
    metric,
    publish,
    publish_raw,
    service_database_url,
    stream_state,
    wait_for,
    wait_nats_ready,
)
from tests.support.system import ADMIN_PASSWORD, ADMIN_USERNAME, database_env, start_service

FAST_CONSUMERS = {"MAX_DELIVERIES": "3", "CONSUMER_ACK_WAIT": "2", "LOG_LEVEL": "INFO"}


@dataclass
class Bench:
    """One test's world: its own NATS, data dir and fresh databases; processes it started."""

    root: Path
    nats: NatsServer
    env: dict[str, str]
    procs: list[ServiceProcess] = field(default_factory=list)
    readers: list[DatabaseReader] = field(default_factory=list)

    def start(self, service: str, *, name: str | None = None, **extra: str) -> ServiceProcess:
        proc = start_service(service, self.nats.url, self.root / "var", {**self.env, **FAST_CONSUMERS, **extra})
        if name:
            proc.name = name
            proc.log_path = proc.log_path.with_name(f"{name}.log")
        self.procs.append(proc)
        wait_nats_ready(proc.url)
        return proc

    def documents_db(self) -> DatabaseReader:
        reader = DatabaseReader(
            service_database_url("documents", self.env, self.root / "var"), documents_metadata
        )
        self.readers.append(reader)
        return reader

    def cli(self, module: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env, "NATS_URL": self.nats.url, "DATA_DIR": str((self.root / "var").resolve())}
        return subprocess.run(
            [sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    nats = NatsServer(tmp_path / "nats", log_path=tmp_path / "nats.log").start()
    env = {**database_env("documents", fresh=True), **database_env("congress", fresh=True)}
    world = Bench(tmp_path, nats, env)
    try:
        yield world
    finally:
        for reader in world.readers:
            reader.close()
        for proc in world.procs:
            proc.stop()
        nats.stop()


def users(n: int, prefix: str = "user") -> list[cc.UserCreated]:
    tag = uuid.uuid4().hex[:6]
    return [
        cc.UserCreated(user_id=uuid.uuid4(), username=f"{prefix}-{tag}-{i}", full_name=f"Nguyễn Thị Hoa {i}",
                       roles=["secretary"], correlation_id=f"corr-{tag}-{i}")
        for i in range(n)
    ]


def logged(db: DatabaseReader) -> dict[str, int]:
    """event_id -> how many event-log rows it has."""
    counts: dict[str, int] = {}
    for row in db.rows("event_log", order_by="id"):
        counts[row["event_id"]] = counts.get(row["event_id"], 0) + 1
    return counts


def inbox_count(db: DatabaseReader, consumer: str) -> int:
    return sum(1 for row in db.rows("inbox") if row["consumer"] == consumer)


# --------------------------------------------------------------------------- producer crashes


def admin_token(congress: ServiceProcess) -> str:
    r = httpx.post(f"{congress.url}/api/auth/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
                   timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def create_user(congress: ServiceProcess, token: str, username: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{congress.url}/api/users",
        json={"username": username, "password": "mat-khau-rat-dai-1", "full_name": "Phạm Thị Lan",
              "roles": ["secretary"]},
        headers={"Authorization": f"Bearer {token}", **headers},
        timeout=30,
    )


def user_created_rows(db: DatabaseReader, username: str) -> list[dict]:
    return [row for row in db.rows("event_log")
            if row["subject"] == cc.UserCreated.subject and json.loads(row["payload"])["username"] == username]


def stream_msg_ids(nats_url: str, stream: str) -> list[str]:
    """The Nats-Msg-Id of every message in `stream`, in order."""
    import asyncio

    import nats
    import nats.js.api as jsapi

    async def go() -> list[str]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            last = (await js.stream_info(stream)).state.last_seq
            sub = await js.subscribe(">", stream=stream, ordered_consumer=True,
                                     deliver_policy=jsapi.DeliverPolicy.ALL)
            ids = []
            while last:
                msg = await sub.next_msg(timeout=5)
                ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
                if msg.metadata.sequence.stream >= last:
                    break
            await sub.unsubscribe()
            return ids
        finally:
            await nc.close()

    return asyncio.run(go())


def test_producer_killed_after_publish_before_mark_sent_delivers_once(bench: Bench) -> None:
    congress = bench.start("congress")
    bench.start("documents")
    db = bench.documents_db()
    token = admin_token(congress)
    wait_for(lambda: metric(congress.url, "outbox_backlog") == 0 and
             metric(congress.url, "events_published_total") > 0, what="start-up events published")
    congress.stop()
    congress.env["FAULT_POINTS"] = "outbox.after_publish"
    congress.start()

    username = f"lan-{uuid.uuid4().hex[:6]}"
    try:
        create_user(congress, token, username)  # committed; the relay then publishes and dies
    except httpx.HTTPError:
        pass  # the process may die before the response leaves
    congress.proc.wait(timeout=30)
    assert congress.returncode == -9
    assert "fault point outbox.after_publish reached" in congress.log_tail(200)
    wait_for(lambda: len(user_created_rows(db, username)) == 1, what="the event consumed from before the crash")

    congress.env.pop("FAULT_POINTS")
    congress.start()
    wait_nats_ready(congress.url)
    # After the restart the relay publishes the rows it never marked sent, again...
    wait_for(lambda: metric(congress.url, "events_published_total", subject=cc.UserCreated.subject) >= 1,
             what="the unmarked row republished")
    wait_for(lambda: metric(congress.url, "outbox_backlog") == 0, what="outbox drained")
    # ...JetStream stores it once (same Nats-Msg-Id) and the consumer applied it once.
    ids = stream_msg_ids(bench.nats.url, "CONGRESS")
    assert len(ids) == len(set(ids))
    assert len(user_created_rows(db, username)) == 1
    wait_for(lambda: any(r["username"] == username for r in db.rows("staff_users")), what="staff copy")


def test_nothing_is_lost_while_nats_is_down(bench: Bench) -> None:
    congress = bench.start("congress")
    bench.start("documents")
    db = bench.documents_db()
    token = admin_token(congress)
    bench.nats.stop()
    tag = uuid.uuid4().hex[:6]
    names = [f"dv-{tag}-{i}" for i in range(100)]
    with httpx.Client(timeout=30) as client:
        for name in names:  # 100 committed changes, none of which can be published now
            r = client.post(f"{congress.url}/api/users", headers={"Authorization": f"Bearer {token}"},
                            json={"username": name, "password": "mat-khau-rat-dai-1", "full_name": "Võ Thị Sáu",
                                  "roles": ["signer"]})
            assert r.status_code == 201, r.text
    from congress.db import metadata as congress_metadata

    outbox = DatabaseReader(service_database_url("congress", bench.env, bench.root / "var"), congress_metadata)
    bench.readers.append(outbox)
    assert sum(1 for row in outbox.rows("outbox") if row["sent_at"] is None) >= 100  # waiting in the outbox
    bench.nats.start()  # same store, same port
    wait_for(lambda: {r["username"] for r in db.rows("staff_users")} >= set(names), timeout=60,
             what="all 100 users copied once NATS is back")

    def created() -> list[str]:
        return sorted(n for n in (json.loads(r["payload"])["username"] for r in db.rows("event_log")
                                  if r["subject"] == cc.UserCreated.subject) if n.startswith(f"dv-{tag}-"))

    wait_for(lambda: len(created()) >= 100, what="all 100 logged")
    assert created() == sorted(names)  # each once
    wait_for(lambda: metric(congress.url, "outbox_backlog") == 0, what="outbox drained")


def test_correlation_id_of_a_request_is_in_the_consumer_log_of_another_process(bench: Bench) -> None:
    congress = bench.start("congress")
    documents = bench.start("documents")
    db = bench.documents_db()
    token = admin_token(congress)
    correlation_id = f"req-{uuid.uuid4().hex}"
    username = f"corr-{uuid.uuid4().hex[:6]}"
    r = create_user(congress, token, username, **{"X-Request-ID": correlation_id})
    assert r.status_code == 201, r.text
    assert r.headers["x-request-id"] == correlation_id
    wait_for(lambda: any(row["username"] == username for row in db.rows("staff_users")), what="user copied")

    def lines(proc: ServiceProcess) -> list[dict]:
        found = []
        for line in proc.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if correlation_id in line and line.startswith("{"):
                found.append(json.loads(line))
        return found

    applied = wait_for(lambda: [e for e in lines(documents) if e.get("event") == "consumer.applied"],
                       what="the consumer's log lines")
    assert {e["service"] for e in applied} == {"documents"}
    assert {e["correlation_id"] for e in applied} == {correlation_id}
    assert "documents-main-congress" in {e["consumer"] for e in applied}
    assert any(e.get("event") == "http.request" and e["correlation_id"] == correlation_id for e in lines(congress))
    recorded = wait_for(lambda: user_created_rows(db, username), what="the event logged")
    assert json.loads(recorded[0]["payload"])["correlation_id"] == correlation_id


# --------------------------------------------------------------------------- consumer crashes


def test_consumer_killed_after_commit_before_ack_applies_each_event_once(bench: Bench) -> None:
    documents = bench.start("documents", FAULT_POINTS="inbox.after_commit")
    db = bench.documents_db()
    events = users(5)
    publish(bench.nats.url, events)
    documents.proc.wait(timeout=30)  # SIGKILLed itself right after its first commit
    assert documents.returncode == -9
    committed_before_crash = len(db.rows("inbox"))
    assert committed_before_crash >= 1  # the effect was committed, the ack never sent

    documents.env.pop("FAULT_POINTS")
    documents.start()
    wait_nats_ready(documents.url)
    ids = {str(e.event_id) for e in events}
    wait_for(lambda: set(logged(db)) == ids and len(db.rows("staff_users")) == 5, what="all events applied")
    assert all(n == 1 for n in logged(db).values())
    assert inbox_count(db, "documents-record-congress") == 5
    assert inbox_count(db, "documents-main-congress") == 5
    # The redelivered messages the crashed process had committed were skipped through the inbox.
    wait_for(lambda: metric(documents.url, "events_duplicate_total") >= 1, what="a duplicate skipped")
    assert metric(documents.url, "events_redelivered_total") >= 1


def test_two_consumer_processes_on_one_durable_apply_every_event_once(bench: Bench) -> None:
    first = bench.start("documents", name="documents-1")
    second = bench.start("documents", name="documents-2")
    db = bench.documents_db()
    events = users(300)
    for start in range(0, len(events), 10):  # a steady trickle, so both replicas fetch
        publish(bench.nats.url, events[start:start + 10])
    ids = {str(e.event_id) for e in events}
    wait_for(lambda: set(logged(db)) == ids, timeout=60, what="300 events logged")
    wait_for(lambda: len(db.rows("staff_users")) == 300, what="300 staff copies")
    assert all(n == 1 for n in logged(db).values())
    for consumer in ("documents-record-congress", "documents-main-congress"):
        per_process = [metric(p.url, "events_consumed_total", consumer=consumer) for p in (first, second)]
        assert sum(per_process) == 300, (consumer, per_process)
    shares = [metric(p.url, "events_consumed_total") for p in (first, second)]
    assert all(share > 0 for share in shares), f"one replica did all the work: {shares}"
    assert stream_state(bench.nats.url, "DEADLETTER").messages == 0


# --------------------------------------------------------------------------- poison messages


def test_poison_messages_are_dead_lettered_and_a_fixed_one_replays_once(bench: Bench) -> None:
    documents = bench.start("documents")
    db = bench.documents_db()
    alice = users(1, "alice")[0]
    publish(bench.nats.url, [alice])
    wait_for(lambda: len(db.rows("staff_users")) == 1, what="alice copied")

    # 1. A version this consumer does not know, and a body that is not the event: no retry can help.
    future = users(1, "future")[0]
    publish(bench.nats.url, [future], headers={"Event-Version": "9"})
    publish_raw(bench.nats.url, cc.UserCreated.subject, b'{"not": "a user"}',
                {"Nats-Msg-Id": str(uuid.uuid4()), "Event-Type": cc.UserCreated.subject, "Event-Version": "1"})
    # 2. A well-formed event the handler cannot apply: another account already holds the username.
    clash = cc.UserCreated(user_id=uuid.uuid4(), username=alice.username, full_name="Trần Văn Bình",
                           roles=["signer"])
    after = users(1, "after")[0]
    publish(bench.nats.url, [clash, after])

    # The next message flows while the clash is retried.
    wait_for(lambda: any(r["user_id"] == str(after.user_id) for r in db.rows("staff_users")), what="next applied")
    letters = wait_for(lambda: _dead_letters(bench, 5), timeout=30, what="5 dead letters")
    by_reason = {(letter["consumer"], letter["reason"].split(" ", 1)[0]) for letter in letters}
    assert ("documents-main-congress", "IntegrityError:") in by_reason
    clash_letter = next(letter for letter in letters if letter["reason"].startswith("IntegrityError"))
    assert clash_letter["deliveries"] == 3  # MAX_DELIVERIES
    assert sum(1 for letter in letters if "unsupported version '9'" in letter["reason"]) == 2  # record + main
    assert sum(1 for letter in letters if letter["reason"].startswith("invalid congress.user.created")) == 2
    assert metric(documents.url, "events_dead_lettered_total") == 5
    # The event log recorded the clash (its own consumer had no problem with it) exactly once.
    assert logged(db).get(str(clash.event_id)) == 1
    assert str(future.event_id) not in logged(db)

    shown = bench.cli("runtime.deadletters", "show", str(clash_letter["seq"]))
    assert shown.returncode == 0, shown.stderr
    assert "Dead-Letter-Consumer: documents-main-congress" in shown.stdout
    assert "Trần Văn Bình" in shown.stdout

    # The fix: the first holder of the username is renamed; then the parked event is replayed.
    renamed = cc.UserUpdated(user_id=alice.user_id, username=f"{alice.username}.old", full_name=alice.full_name,
                             roles=alice.roles)
    publish(bench.nats.url, [renamed])
    wait_for(lambda: any(r["username"].endswith(".old") for r in db.rows("staff_users")), what="rename applied")
    replayed = bench.cli("runtime.deadletters", "replay", str(clash_letter["seq"]))
    assert replayed.returncode == 0, replayed.stderr
    wait_for(lambda: any(r["user_id"] == str(clash.user_id) for r in db.rows("staff_users")), what="clash applied")
    assert [r["username"] for r in db.rows("staff_users") if r["user_id"] == str(clash.user_id)] == [alice.username]
    assert inbox_count(db, "documents-main-congress") == 4  # alice, after, renamed, clash: once each
    wait_for(lambda: metric(documents.url, "events_duplicate_total", consumer="documents-record-congress") == 1,
             what="the record consumer skipped the replayed copy")
    assert logged(db)[str(clash.event_id)] == 1
    remaining = _dead_letters(bench, 4)
    assert clash_letter["seq"] not in {letter["seq"] for letter in remaining}


def _dead_letters(bench: Bench, expected: int) -> list[dict] | None:
    """The dead letters as `runtime.deadletters list` reads them, once there are `expected` of them."""
    import asyncio

    import nats

    from runtime.deadletters import list_dead_letters

    async def go() -> list[dict]:
        nc = await nats.connect(bench.nats.url)
        try:
            letters = await list_dead_letters(nc.jetstream())
        finally:
            await nc.close()
        return [{"seq": x.seq, "consumer": x.consumer, "reason": x.reason, "deliveries": x.deliveries}
                for x in letters]

    letters = asyncio.run(go())
    if len(letters) != expected:
        return None
    listed = bench.cli("runtime.deadletters", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"Dead letters ({expected})" in listed.stdout
    return letters


# --------------------------------------------------------------------------- replay


def test_replay_rebuilds_the_read_model_the_live_consumer_built(bench: Bench) -> None:
    documents = bench.start("documents")
    db = bench.documents_db()
    congress_id = uuid.uuid4()
    created = users(20)
    changes: list[cc.Event] = [
        *created,
        *(cc.StaffAdded(user_id=u.user_id, username=u.username, congress_id=congress_id) for u in created[:8]),
        cc.UserUpdated(user_id=created[0].user_id, username="chu-tich", full_name="Lê Thị Thu Hà",
                       roles=["signer", "secretary"], organisation="Hội Liên hiệp Phụ nữ"),
        cc.UserDeactivated(user_id=created[1].user_id, username=created[1].username),
        cc.StaffRemoved(user_id=created[2].user_id, username=created[2].username, congress_id=congress_id),
    ]
    publish(bench.nats.url, changes)
    wait_for(lambda: inbox_count(db, "documents-main-congress") == len(changes), what="all applied live")
    tables = ["staff_users", "congress_staff"]
    live = db.dump(tables)
    assert len(live["staff_users"]) == 20
    # the removed membership stays as a tombstone, so that a late "added" cannot bring it back
    assert sum(1 for row in live["congress_staff"] if not row["removed"]) == 7 and len(live["congress_staff"]) == 8

    # Spoil the model, so an equal result cannot come from leaving it alone.
    with db.engine.begin() as conn:
        conn.execute(db.metadata.tables["staff_users"].delete().where(
            db.metadata.tables["staff_users"].c.user_id == str(created[5].user_id)))
        conn.execute(db.metadata.tables["congress_staff"].delete())
    assert db.dump(tables) != live

    done = bench.cli("runtime.replay", "documents", "--purpose", "main")
    assert done.returncode == 0, done.stderr
    assert f"{len(changes)} events applied" in " ".join(done.stderr.split())  # however the console wraps it
    assert db.dump(tables) == live
    assert inbox_count(db, "documents-main-congress") == len(changes)
    # The live consumer carries on after a replay, applying only what is new.
    later = users(1, "later")
    publish(bench.nats.url, later)
    wait_for(lambda: len(db.rows("staff_users")) == 21, what="a later event applied after the replay")
    assert metric(documents.url, "events_duplicate_total", consumer="documents-main-congress") == 0


def test_replay_refuses_a_purpose_without_a_read_model(bench: Bench) -> None:
    done = bench.cli("runtime.replay", "documents", "--purpose", "record")
    assert done.returncode != 0
    assert "no read model for purpose 'record'" in done.stderr


# --------------------------------------------------------------------------- event log


def test_event_log_keeps_every_consumed_event_hash_chained_per_congress(bench: Bench) -> None:
    import asyncio

    from documents.eventlog import GENESIS, canonical_payload, chain_hash, verify_chain
    from documents.db import make_database

    bench.start("documents")
    db = bench.documents_db()
    first, second = uuid.uuid4(), uuid.uuid4()
    events: list[cc.Event] = []
    for i in range(10):
        events.append(cc.DelegateRegistered(congress_id=first if i % 2 else second, delegate_id=uuid.uuid4(),
                                            full_name=f"Đại biểu {i}", unit="Phường Bến Nghé", delegate_type="chính thức"))
    events += users(3)
    seqs = publish(bench.nats.url, events)
    wait_for(lambda: len(db.rows("event_log")) == 13, what="13 events logged")
    rows = db.rows("event_log", order_by="id")
    by_id = {row["event_id"]: row for row in rows}
    for event, seq in zip(events, seqs, strict=True):
        row = by_id[str(event.event_id)]
        assert row["payload"] == canonical_payload(event)
        assert (row["stream"], row["stream_seq"], row["subject"]) == ("CONGRESS", seq, event.subject)
        assert row["headers"]["Nats-Msg-Id"] == str(event.event_id)
    for congress in (str(first), str(second), None):
        chain = [row for row in rows if row["congress_id"] == congress]
        prev = GENESIS
        for row in chain:
            assert row["prev_hash"] == prev and row["hash"] == chain_hash(prev, row["payload"])
            prev = row["hash"]
        assert len(chain) == (5 if congress else 3)

    async def check() -> list:
        database = make_database(service_database_url("documents", bench.env, bench.root / "var"))
        try:
            async with database.session() as session:
                return [await verify_chain(session, c) for c in (first, second, None)]
        finally:
            await database.dispose()

    assert all(result.intact for result in asyncio.run(check()))
    # Altering one recorded event breaks its congress's chain and nothing else.
    table = db.metadata.tables["event_log"]
    victim = next(row for row in rows if row["congress_id"] == str(first))
    with db.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == victim["id"]).values(
            payload=victim["payload"].replace("Đại biểu", "Dai bieu")))
    results = asyncio.run(check())
    assert [r.intact for r in results] == [False, True, True]
    assert json.loads(victim["payload"])["congress_id"] == str(first)
