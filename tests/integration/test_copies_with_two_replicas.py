"""Two documents replicas on one durable consumer, and a retried event applied after later ones:
the copies of the congress's entities still end as the stream says (runtime/projection.py).

A real nats-server and the documents service as separate OS processes on a fresh database
(SQLite, or PostgreSQL with TEST_DATABASE=postgresql). Events are published as the congress
service's relay would; the model the replicas build live is compared with what the last event
of each entity says and with the model `python -m runtime.replay` rebuilds in stream order.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import contracts.congress as cc
from contracts.base import Event
from documents.db import metadata as documents_metadata
from runtime.processes import REPO_ROOT, NatsServer, ServiceProcess
from tests.support.events import (
    DatabaseReader,
    metric,
    publish,
    service_database_url,
    stream_state,
    wait_for,
    wait_nats_ready,
)
from tests.support.system import database_env, start_service

CONSUMER = "documents-main-congress"
MODEL = ["staff_users", "congress_staff", "congresses", "agendas", "agenda_items", "delegates", "checkins"]
T0 = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)


@dataclass
class Bench:
    root: Path
    nats: NatsServer
    env: dict[str, str]
    procs: list[ServiceProcess] = field(default_factory=list)

    def start_documents(self, name: str) -> ServiceProcess:
        proc = start_service("documents", self.nats.url, self.root / "var",
                             {**self.env, "MAX_DELIVERIES": "5", "LOG_LEVEL": "INFO"})
        proc.name = name
        self.procs.append(proc)
        wait_nats_ready(proc.url)
        return proc

    def db(self) -> DatabaseReader:
        return DatabaseReader(service_database_url("documents", self.env, self.root / "var"), documents_metadata)

    def replay(self) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env, "NATS_URL": self.nats.url, "DATA_DIR": str((self.root / "var").resolve())}
        return subprocess.run([sys.executable, "-m", "runtime.replay", "documents", "--purpose", "main"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    nats = NatsServer(tmp_path / "nats", log_path=tmp_path / "nats.log").start()
    world = Bench(tmp_path, nats, database_env("documents", fresh=True))
    try:
        yield world
    finally:
        for proc in world.procs:
            proc.stop()
        nats.stop()


def applied(db: DatabaseReader) -> int:
    return sum(1 for row in db.rows("inbox") if row["consumer"] == CONSUMER)


# --------------------------------------------------------------------------- a busy congress day


@dataclass
class Day:
    """Events of many entities, each entity's in its own order, interleaved at random."""

    rng: random.Random
    per_entity: list[list[Event]] = field(default_factory=list)
    minute: int = 0

    def at(self) -> datetime:
        self.minute += 1
        return T0 + timedelta(minutes=self.minute)

    def interleaved(self) -> list[Event]:
        queues = [list(q) for q in self.per_entity if q]
        out: list[Event] = []
        while queues:
            queue = self.rng.choice(queues)
            out.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
        return out


def busy_day(seed: int) -> list[Event]:
    rng = random.Random(seed)
    day = Day(rng)
    names = ["Nguyễn Thị Ánh Tuyết", "Trần Thị Bích Ngọc", "Lê Thị Hồng Nhung", "Phạm Thu Hà", "Đỗ Thị Lan"]
    congresses = [uuid.uuid4() for _ in range(3)]
    for congress in congresses:
        events: list[Event] = [cc.CongressCreated(congress_id=congress, title="Đại hội lần thứ XIII", organisation="Hội",
                                                  unit="Phường", venue="Hội trường", starts_at=None, ends_at=None,
                                                  quorum=0.5, occurred_at=day.at())]
        items = [uuid.uuid4() for _ in range(6)]
        for version in range(rng.randint(2, 5)):
            if rng.random() < 0.4:
                events.append(cc.CongressUpdated(congress_id=congress, title=f"Đại hội (sửa lần {version})",
                                                 organisation="Hội", unit="Phường", venue=f"Phòng {version}",
                                                 starts_at=None, ends_at=None, quorum=0.5, occurred_at=day.at()))
            chosen = rng.sample(items, rng.randint(0, 4))
            events.append(cc.AgendaChanged(congress_id=congress, occurred_at=day.at(), items=[
                cc.AgendaItem(id=item, position=i + 1, title=f"Mục {i + 1} (bản {version})")
                for i, item in enumerate(chosen)]))
        day.per_entity.append(events)
    for _ in range(40):
        congress, delegate = rng.choice(congresses), uuid.uuid4()
        events = [cc.DelegateRegistered(congress_id=congress, delegate_id=delegate, full_name=rng.choice(names),
                                        unit="Chi hội 1", delegate_type="Đại biểu chính thức", occurred_at=day.at())]
        for _ in range(rng.randint(1, 6)):
            kind = rng.choice(["in", "in", "undo", "rename"])
            when = day.at()
            if kind == "in":
                events.append(cc.DelegateCheckedIn(congress_id=congress, delegate_id=delegate, checked_in_at=when,
                                                   occurred_at=when))
            elif kind == "undo":
                events.append(cc.DelegateCheckinUndone(congress_id=congress, delegate_id=delegate, reason="Nhầm",
                                                       occurred_at=when))
            else:
                events.append(cc.DelegateUpdated(congress_id=congress, delegate_id=delegate,
                                                 full_name=rng.choice(names), unit="Chi hội 2",
                                                 delegate_type="Khách mời", occurred_at=when))
        if rng.random() < 0.2:
            events.append(cc.DelegateRemoved(congress_id=congress, delegate_id=delegate, occurred_at=day.at()))
        day.per_entity.append(events)
    for n in range(15):
        user, username = uuid.uuid4(), f"can-bo-{seed}-{n}"
        events = [cc.UserCreated(user_id=user, username=username, full_name=rng.choice(names), roles=["secretary"],
                                 occurred_at=day.at())]
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.4:
                events.append(cc.UserDeactivated(user_id=user, username=username, occurred_at=day.at()))
            else:
                events.append(cc.UserUpdated(user_id=user, username=username, full_name=rng.choice(names),
                                             roles=["secretary"], active=rng.random() < 0.6, occurred_at=day.at()))
        day.per_entity.append(events)
        membership: list[Event] = []
        for i in range(rng.randint(1, 5)):
            cls = cc.StaffAdded if i % 2 == 0 else cc.StaffRemoved
            membership.append(cls(congress_id=congresses[0], user_id=user, username=username, occurred_at=day.at()))
        day.per_entity.append(membership)
    return day.interleaved()


def what_the_last_events_say(events: list[Event]) -> dict[str, Any]:
    """The model by definition: for each entity, the newest event of each kind that sets it."""
    last: dict[tuple[str, str], Event] = {}
    for event in events:
        match event:
            case cc.DelegateCheckedIn() | cc.DelegateCheckinUndone():
                last[("checkin", str(event.delegate_id))] = event
            case cc.DelegateRemoved():
                last[("checkin", str(event.delegate_id))] = event
                last[("delegate", str(event.delegate_id))] = event
            case cc.DelegateRegistered() | cc.DelegateUpdated():
                last[("delegate", str(event.delegate_id))] = event
            case cc.UserCreated() | cc.UserUpdated() | cc.UserDeactivated():
                last[("active", str(event.user_id))] = event
                if not isinstance(event, cc.UserDeactivated):
                    last[("profile", str(event.user_id))] = event
            case cc.StaffAdded() | cc.StaffRemoved():
                last[("staff", str(event.user_id))] = event
            case cc.AgendaChanged():
                last[("agenda", str(event.congress_id))] = event
    model: dict[str, Any] = {"present": {}, "delegates": {}, "active": {}, "names": {}, "staff": set(), "agendas": {}}
    for (kind, key), event in last.items():
        if kind == "checkin" and isinstance(event, cc.DelegateCheckedIn):
            model["present"][key] = event.checked_in_at
        elif kind == "delegate":
            model["delegates"][key] = None if isinstance(event, cc.DelegateRemoved) else event.full_name
        elif kind == "active":
            model["active"][key] = getattr(event, "active", True) and not isinstance(event, cc.UserDeactivated)
        elif kind == "profile":
            model["names"][key] = event.full_name
        elif kind == "staff" and isinstance(event, cc.StaffAdded):
            model["staff"].add(key)
        elif kind == "agenda":
            model["agendas"][key] = [item.title for item in sorted(event.items, key=lambda i: i.position)]
    return model


def what_the_copies_say(dump: dict[str, list[dict]]) -> dict[str, Any]:
    agendas: dict[str, list[str]] = {row["congress_id"]: [] for row in dump["agendas"]}
    for row in sorted(dump["agenda_items"], key=lambda r: r["position"]):
        agendas[row["congress_id"]].append(row["title"])
    return {
        "present": {r["delegate_id"]: r["checked_in_at"] for r in dump["checkins"] if not r["removed"]},
        "delegates": {r["id"]: None if r["removed"] else r["full_name"] for r in dump["delegates"]},
        "active": {r["user_id"]: r["active"] for r in dump["staff_users"]},
        "names": {r["user_id"]: r["full_name"] for r in dump["staff_users"]},
        "staff": {r["user_id"] for r in dump["congress_staff"] if not r["removed"]},
        "agendas": agendas,
    }


def applied_out_of_order(db: DatabaseReader, seqs: dict[str, int]) -> int:
    """Pairs of events the replicas committed in the opposite order to the stream's."""
    rows = [(row["processed_at"], seqs[row["event_id"]]) for row in db.rows("inbox") if row["consumer"] == CONSUMER]
    rows.sort()
    return sum(1 for (t1, s1), (t2, s2) in zip(rows, rows[1:]) if t1 < t2 and s1 > s2)


def test_two_replicas_applying_interleaved_events_build_the_model_stream_order_builds(bench: Bench) -> None:
    first, second = bench.start_documents("documents-1"), bench.start_documents("documents-2")
    db = bench.db()
    try:
        events = busy_day(seed=20260308)
        seqs: dict[str, int] = {}
        for start in range(0, len(events), 25):  # bursts: both replicas fetch, their batches overlap
            chunk = events[start:start + 25]
            for event, seq in zip(chunk, publish(bench.nats.url, chunk), strict=True):
                seqs[str(event.event_id)] = seq
        wait_for(lambda: applied(db) == len(events), timeout=120, what=f"{len(events)} events applied")
        shares = [metric(p.url, "events_consumed_total", consumer=CONSUMER) for p in (first, second)]
        assert all(share > 0 for share in shares), f"one replica did all the work: {shares}"
        live = db.dump(MODEL)
        assert what_the_copies_say(live) == what_the_last_events_say(events)
        assert stream_state(bench.nats.url, "DEADLETTER").messages == 0
        inverted = applied_out_of_order(db, seqs)

        done = bench.replay()
        assert done.returncode == 0, done.stderr
        assert db.dump(MODEL) == live, f"the replay in stream order differs ({inverted} batches were inverted live)"
    finally:
        db.close()


def test_a_retried_event_applied_after_later_ones_does_not_undo_them(bench: Bench) -> None:
    """A creation that fails (its username is still held by another account) is retried after the
    account's rename and the other account's: applied last, it is older than the rename and changes
    nothing. Before runtime/projection.py, it put the old username and name back."""
    documents = bench.start_documents("documents-1")
    db = bench.db()
    try:
        alice, bob = uuid.uuid4(), uuid.uuid4()
        publish(bench.nats.url, [cc.UserCreated(user_id=alice, username="thu-ky", full_name="Phạm Thị Lan",
                                                roles=["secretary"])])
        wait_for(lambda: applied(db) == 1, what="alice copied")
        bob_created = cc.UserCreated(user_id=bob, username="thu-ky", full_name="Trần Văn Bình", roles=["signer"])
        bob_renamed = cc.UserUpdated(user_id=bob, username="chu-tich", full_name="Trần Văn Bình (Chủ tịch)",
                                     roles=["signer", "secretary"])
        alice_renamed = cc.UserUpdated(user_id=alice, username="thu-ky-cu", full_name="Phạm Thị Lan",
                                       roles=["secretary"])
        bob_deactivated = cc.UserDeactivated(user_id=bob, username="chu-tich")
        publish(bench.nats.url, [bob_created, bob_renamed, alice_renamed, bob_deactivated])
        wait_for(lambda: applied(db) == 5, timeout=30, what="the retried creation applied")
        assert metric(documents.url, "events_redelivered_total", consumer=CONSUMER) >= 1
        bob_row = next(r for r in db.rows("staff_users") if r["user_id"] == str(bob))
        assert (bob_row["username"], bob_row["full_name"], bob_row["roles"], bob_row["active"]) == (
            "chu-tich", "Trần Văn Bình (Chủ tịch)", ["signer", "secretary"], False)
        live = db.dump(MODEL)
        done = bench.replay()
        assert done.returncode == 0, done.stderr
        assert db.dump(MODEL) == live
    finally:
        db.close()
