"""Copies of other services' entities end in the state of the newest event, whatever order replicas
apply the events in (runtime/projection.py), on SQLite and on PostgreSQL.

Each scenario is the events of one or two entities in stream order (positions 1..n). They are
applied through the service's own handlers (its subscription table), each event in its own
transaction of the service's Database with `current_delivery` set as the inbox sets it: once in
stream order, then in every other order (or a sample of orders for long scenarios), each run
with fresh ids. Every run must leave the same rows as the stream-order run, and the rows must
say what the last event says (the reported cases: an undo applied before its check-in, a removal
before the registration, a check-in / undo / check-in again).
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, insert, select

import contracts.congress as cc
import contracts.signing as sc
from contracts.base import Event
from runtime.db import Database, UnitOfWork
from runtime.inbox import Delivery, current_delivery
from runtime.migrations import upgrade
from runtime.processes import REPO_ROOT

T0 = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
EXHAUSTIVE_UP_TO = 4  # events; longer scenarios are checked in SAMPLED_ORDERS orders
SAMPLED_ORDERS = 30


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Ids:
    """Fresh uuids by name for one run; rows are compared with the names put back."""

    def __init__(self) -> None:
        self.by_name: dict[str, uuid.UUID] = {}

    def __getitem__(self, name: str) -> uuid.UUID:
        return self.by_name.setdefault(name, uuid.uuid4())

    def s(self, name: str) -> str:
        return str(self[name])

    def named(self, value: Any) -> Any:
        names = {str(v): k for k, v in self.by_name.items()}
        if isinstance(value, dict):
            return {k: self.named(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.named(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value


@dataclass
class Service:
    name: str
    db: Database
    tables: dict[str, Table]
    handlers: dict[type[Event], Callable[[Event, UnitOfWork], Awaitable[Any]]]


@dataclass
class Scenario:
    name: str
    service: str
    stream: str
    events: Callable[[Ids], list[Event]]
    rows: dict[str, Callable[[Table, Ids], Any]]
    """table -> the WHERE clause picking this run's rows"""
    expect: Callable[[dict[str, list[dict]], Ids], None]
    setup: Callable[[UnitOfWork, dict[str, Table], Ids], Awaitable[None]] | None = None


# --------------------------------------------------------------------------- the scenarios


def _registered(ids: Ids, minute: int, name: str = "Nguyễn Thị Ánh Tuyết") -> cc.DelegateRegistered:
    return cc.DelegateRegistered(congress_id=ids["congress"], delegate_id=ids["delegate"], full_name=name,
                                 unit="Chi hội khu phố 1", delegate_type="Đại biểu chính thức", occurred_at=at(minute))


def _checked_in(ids: Ids, minute: int) -> cc.DelegateCheckedIn:
    return cc.DelegateCheckedIn(congress_id=ids["congress"], delegate_id=ids["delegate"], checked_in_at=at(minute),
                                occurred_at=at(minute))


def _undone(ids: Ids, minute: int) -> cc.DelegateCheckinUndone:
    return cc.DelegateCheckinUndone(congress_id=ids["congress"], delegate_id=ids["delegate"], reason="Quét nhầm",
                                    occurred_at=at(minute))


def _user(ids: Ids, minute: int, cls: type = cc.UserUpdated, **changes: Any) -> Event:
    values = dict(user_id=ids["user"], username=ids.s("username"), full_name="Phạm Thị Thu Hà", roles=["secretary"],
                  occurred_at=at(minute))
    return cls(**{**values, **changes})


def _staff(ids: Ids, minute: int, cls: type) -> Event:
    return cls(congress_id=ids["congress"], user_id=ids["user"], username=ids.s("username"), occurred_at=at(minute))


def _agenda(ids: Ids, minute: int, *titles: str) -> cc.AgendaChanged:
    return cc.AgendaChanged(congress_id=ids["congress"], occurred_at=at(minute), items=[
        cc.AgendaItem(id=ids[f"item {title}"], position=i + 1, title=title) for i, title in enumerate(titles)])


def by_delegate(table: Table, ids: Ids) -> Any:
    return table.c[next(iter(table.primary_key.columns)).name] == ids.s("delegate")


def by_congress(table: Table, ids: Ids) -> Any:
    return table.c.congress_id == ids.s("congress")


def by_user(table: Table, ids: Ids) -> Any:
    return table.c.user_id == ids.s("user")


def by_request(table: Table, ids: Ids) -> Any:
    return table.c.request_id == ids.s("request")


def only(rows: dict[str, list[dict]], table: str) -> dict:
    assert len(rows[table]) == 1, rows[table]
    return rows[table][0]


def expect_checked_in_at(minute: int) -> Callable[[dict, Ids], None]:
    def check(rows: dict, _ids: Ids) -> None:
        row = only(rows, "checkins")
        assert (row["removed"], row["checked_in_at"]) == (False, at(minute))
    return check


def expect_not_checked_in(rows: dict, _ids: Ids) -> None:
    assert only(rows, "checkins")["removed"] is True


def expect_delegate_removed(rows: dict, _ids: Ids) -> None:
    assert only(rows, "delegates")["removed"] is True
    assert only(rows, "checkins")["removed"] is True


def expect_congress(rows: dict, _ids: Ids) -> None:
    row = only(rows, "congresses")
    assert (row["title"], row["venue"], row["closed_at"]) == ("Đại hội lần thứ XIII (sửa)", "Hội trường B", at(9))


def expect_agenda(*titles: str) -> Callable[[dict, Ids], None]:
    def check(rows: dict, _ids: Ids) -> None:
        assert [r["title"] for r in sorted(rows["agenda_items"], key=lambda r: r["position"])] == list(titles)
    return check


def expect_user(active: bool, full_name: str) -> Callable[[dict, Ids], None]:
    def check(rows: dict, _ids: Ids) -> None:
        row = only(rows, "staff_users")
        assert (row["active"], row["full_name"]) == (active, full_name)
    return check


def expect_member(member: bool) -> Callable[[dict, Ids], None]:
    def check(rows: dict, _ids: Ids) -> None:
        assert only(rows, "congress_staff")["removed"] is (not member)
    return check


def expect_publication(rows: dict, _ids: Ids) -> None:
    row = only(rows, "publications")
    assert (row["version"], row["audience"], row["published_at"], row["revoked_at"]) == (2, "public", at(1), at(5))


def expect_request(status: str, version_status: str) -> Callable[[dict, Ids], None]:
    def check(rows: dict, _ids: Ids) -> None:
        assert (only(rows, "signing_requests")["status"], only(rows, "signing_requests")["version"]) == (status, 1)
        assert only(rows, "document_versions")["status"] == version_status
    return check


def expect_closing(state: str) -> Callable[[dict, Ids], None]:
    def check(rows: dict, _ids: Ids) -> None:
        row = only(rows, "signature_requests")
        assert (row["state"], row["title"], row["version"]) == (state, "Ký duyệt báo cáo chính trị", 1)
    return check


def expect_directory(removed: bool, search_name: str) -> Callable[[dict, Ids], None]:
    def check(rows: dict, _ids: Ids) -> None:
        row = only(rows, "delegate_directory")
        assert (row["removed"], row["search_name"]) == (removed, search_name)
    return check


async def a_document_in_draft(uow: UnitOfWork, tables: dict[str, Table], ids: Ids) -> None:
    await uow.session.execute(insert(tables["documents"]).values(
        id=ids.s("document"), congress_id=ids.s("congress"), title="Báo cáo chính trị", kind="report",
        created_by=ids.s("user"), created_at=T0, updated_at=T0))
    await uow.session.execute(insert(tables["document_versions"]).values(
        document_id=ids.s("document"), version=1, sha256="a" * 64, size=10, pages=1, content_type="application/pdf",
        file_name="bao-cao.pdf", status="draft", signed=False, created_at=T0))


def _request_created(ids: Ids, minute: int) -> sc.RequestCreated:
    return sc.RequestCreated(request_id=ids["request"], document_id=ids["document"], version=1, sha256="a" * 64,
                             signers=[sc.SignerSlot(username="chu-tich", role="signer")], requested_by="thu-ky",
                             title="Ký duyệt báo cáo chính trị", congress_id=ids["congress"], occurred_at=at(minute))


def _request_rejected(ids: Ids, minute: int) -> sc.RequestRejected:
    return sc.RequestRejected(request_id=ids["request"], document_id=ids["document"], signer="chu-tich",
                              reason="Sai số liệu", congress_id=ids["congress"], occurred_at=at(minute))


def _request_signed(ids: Ids, minute: int) -> sc.RequestSigned:
    return sc.RequestSigned(request_id=ids["request"], document_id=ids["document"], signer="chu-tich",
                            signer_full_name="Lê Thị Thu", role="signer", verification_code=ids.s("verification code"),
                            signed_sha256="b" * 64, certificate_sha256="c" * 64, signed_at=at(minute),
                            congress_id=ids["congress"], occurred_at=at(minute))


def _request_completed(ids: Ids, minute: int) -> sc.RequestCompleted:
    return sc.RequestCompleted(request_id=ids["request"], document_id=ids["document"], version=1,
                               final_sha256="b" * 64, completion_certificate_sha256="c" * 64,
                               congress_id=ids["congress"], occurred_at=at(minute))


def _directory(ids: Ids, minute: int, cls: type, name: str = "") -> Event:
    if cls is cc.DelegateRemoved:
        return cls(congress_id=ids["congress"], delegate_id=ids["delegate"], occurred_at=at(minute))
    return cls(congress_id=ids["congress"], delegate_id=ids["delegate"], full_name=name, unit="Chi hội 2",
               delegate_type="Đại biểu chính thức", occurred_at=at(minute))


DELEGATE_ROWS = {"delegates": by_delegate, "checkins": by_delegate}
REQUEST_ROWS = {"signing_requests": by_request,
                "document_versions": lambda t, ids: t.c.document_id == ids.s("document")}

SCENARIOS = [
    Scenario("check-in, undo, check-in again", "documents", "CONGRESS",
             lambda ids: [_registered(ids, 0), _checked_in(ids, 3), _undone(ids, 5), _checked_in(ids, 40)],
             DELEGATE_ROWS, expect_checked_in_at(40)),
    Scenario("undo after the check-in", "documents", "CONGRESS",
             lambda ids: [_registered(ids, 0), _checked_in(ids, 3), _undone(ids, 5)],
             DELEGATE_ROWS, expect_not_checked_in),
    Scenario("registered, renamed, checked in, removed", "documents", "CONGRESS",
             lambda ids: [_registered(ids, 0), cc.DelegateUpdated(
                 congress_id=ids["congress"], delegate_id=ids["delegate"], full_name="Trần Thị Bích Ngọc",
                 unit="Chi hội 2", delegate_type="Khách mời", occurred_at=at(1)),
                 _checked_in(ids, 3), cc.DelegateRemoved(congress_id=ids["congress"], delegate_id=ids["delegate"],
                                                         occurred_at=at(6))],
             DELEGATE_ROWS, expect_delegate_removed),
    Scenario("congress created, updated, closed", "documents", "CONGRESS",
             lambda ids: [cc.CongressCreated(congress_id=ids["congress"], title="Đại hội lần thứ XIII",
                                             organisation="Hội LHPN", unit="Phường Bến Nghé", venue="Hội trường A",
                                             starts_at=at(0), ends_at=at(480), quorum=0.5, occurred_at=at(0)),
                          cc.CongressUpdated(congress_id=ids["congress"], title="Đại hội lần thứ XIII (sửa)",
                                             organisation="Hội LHPN", unit="Phường Bến Nghé", venue="Hội trường B",
                                             starts_at=at(0), ends_at=at(480), quorum=0.6, occurred_at=at(2)),
                          cc.CongressClosed(congress_id=ids["congress"], registered=3, present=2, quorum=0.6,
                                            quorum_reached=True, occurred_at=at(9))],
             {"congresses": lambda t, ids: t.c.id == ids.s("congress")}, expect_congress),
    Scenario("agenda changed three times", "documents", "CONGRESS",
             lambda ids: [_agenda(ids, 0, "Khai mạc", "Báo cáo"), _agenda(ids, 1, "Khai mạc"),
                          _agenda(ids, 2, "Khai mạc", "Thảo luận", "Bế mạc")],
             {"agendas": by_congress, "agenda_items": by_congress}, expect_agenda("Khai mạc", "Thảo luận", "Bế mạc")),
    Scenario("agenda emptied last", "documents", "CONGRESS",
             lambda ids: [_agenda(ids, 0, "Khai mạc", "Báo cáo"), _agenda(ids, 1)],
             {"agendas": by_congress, "agenda_items": by_congress}, expect_agenda()),
    Scenario("publication revoked", "documents", "CONGRESS",
             lambda ids: [cc.DocumentPublished(congress_id=ids["congress"], publication_id=ids["publication"],
                                               document_id=ids["document"], version=2, sha256="a" * 64,
                                               title="Nghị quyết", agenda_item_id=None, audience="public",
                                               occurred_at=at(1)),
                          cc.DocumentRevoked(congress_id=ids["congress"], publication_id=ids["publication"],
                                             document_id=ids["document"], occurred_at=at(5))],
             {"publications": lambda t, ids: t.c.id == ids.s("publication")}, expect_publication),
    Scenario("request created then rejected", "documents", "SIGNING",
             lambda ids: [_request_created(ids, 0), _request_rejected(ids, 4)],
             REQUEST_ROWS, expect_request("rejected", "draft"), setup=a_document_in_draft),
    Scenario("request created, signed, completed", "documents", "SIGNING",
             lambda ids: [_request_created(ids, 0), _request_signed(ids, 3), _request_completed(ids, 3)],
             {**REQUEST_ROWS, "signatures": by_request}, expect_request("completed", "in_review"),
             setup=a_document_in_draft),
    Scenario("request created then rejected, as the congress keeps it", "congress", "SIGNING",
             lambda ids: [_request_created(ids, 0), _request_rejected(ids, 4)],
             {"signature_requests": by_request}, expect_closing("rejected")),
    Scenario("request created then completed, as the congress keeps it", "congress", "SIGNING",
             lambda ids: [_request_created(ids, 0), _request_completed(ids, 4)],
             {"signature_requests": by_request}, expect_closing("completed")),
    Scenario("desk directory: registered, renamed", "congress", "CONGRESS",
             lambda ids: [_directory(ids, 0, cc.DelegateRegistered, "Lê Thị Hồng"),
                          _directory(ids, 1, cc.DelegateUpdated, "Đỗ Thị Lan")],
             {"delegate_directory": by_delegate}, expect_directory(False, " do thi lan")),
    Scenario("desk directory: registered, renamed, removed", "congress", "CONGRESS",
             lambda ids: [_directory(ids, 0, cc.DelegateRegistered, "Lê Thị Hồng"),
                          _directory(ids, 1, cc.DelegateUpdated, "Đỗ Thị Lan"),
                          _directory(ids, 2, cc.DelegateRemoved)],
             {"delegate_directory": by_delegate}, expect_directory(True, "")),
]

for service in ("documents", "signing"):  # both keep the copy of accounts and memberships (runtime/access.py)
    SCENARIOS += [
        Scenario(f"account deactivated, then given back with a new name ({service})", service, "CONGRESS",
                 lambda ids: [_user(ids, 0, cc.UserCreated), _user(ids, 1, active=False),
                              _user(ids, 2, full_name="Phạm Thu Hà", active=True),
                              cc.UserDeactivated(user_id=ids["user"], username=ids.s("username"), occurred_at=at(3)),
                              _user(ids, 4, full_name="Phạm Thị Hà", active=True)],
                 {"staff_users": by_user}, expect_user(True, "Phạm Thị Hà")),
        Scenario(f"account created then deactivated ({service})", service, "CONGRESS",
                 lambda ids: [_user(ids, 0, cc.UserCreated),
                              cc.UserDeactivated(user_id=ids["user"], username=ids.s("username"), occurred_at=at(3))],
                 {"staff_users": by_user}, expect_user(False, "Phạm Thị Thu Hà")),
        Scenario(f"staff added, removed, added again ({service})", service, "CONGRESS",
                 lambda ids: [_staff(ids, 0, cc.StaffAdded), _staff(ids, 1, cc.StaffRemoved),
                              _staff(ids, 2, cc.StaffAdded)],
                 {"congress_staff": by_user}, expect_member(True)),
        Scenario(f"staff added then removed ({service})", service, "CONGRESS",
                 lambda ids: [_staff(ids, 0, cc.StaffAdded), _staff(ids, 1, cc.StaffRemoved)],
                 {"congress_staff": by_user}, expect_member(False)),
    ]


# --------------------------------------------------------------------------- the services


def service_handlers(name: str) -> dict[type[Event], Any]:
    """The handlers the service's consumers call: its own subscription tables."""
    if name == "documents":
        from documents.subscribers import MAIN_SUBSCRIPTIONS
        return {cls: h for s in MAIN_SUBSCRIPTIONS for cls, h in s.handlers.items()}
    if name == "congress":
        from congress.subscribers import DAY_SUBSCRIPTIONS
        return {cls: h for s in DAY_SUBSCRIPTIONS for cls, h in s.handlers.items()}
    # signing's user handlers also issue certificates (its CA): the copy itself is runtime/access.py
    from signing.db import access
    return access.handlers()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def services(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Service]]:
    import importlib

    made: dict[str, Service] = {}
    root = tmp_path_factory.mktemp(f"copies-{request.param}")
    for name in ("documents", "congress", "signing"):
        if request.param == "sqlite":
            url = f"sqlite:///{root / f'{name}.sqlite'}"
        else:
            url = request.getfixturevalue("postgres").create(name, fresh=True)
        upgrade(REPO_ROOT / name / "migrations", url)
        db_module = importlib.import_module(f"{name}.db")
        made[name] = Service(name, db_module.make_database(url), db_module.metadata.tables, service_handlers(name))
    yield made


async def apply(service: Service, event: Event, seq: int, stream: str) -> None:
    """What the inbox does for one event: its handler in a transaction, the delivery set."""
    token = current_delivery.set(Delivery(stream, seq, event.subject, {}))
    try:
        async with service.db.uow() as uow:
            await service.handlers[type(event)](event, uow)
    finally:
        current_delivery.reset(token)


async def run(service: Service, scenario: Scenario, order: list[int], base_seq: int) -> dict[str, list[dict]]:
    """Apply the scenario's events (fresh ids) in `order`; returns its rows with the names put back."""
    ids = Ids()
    events = scenario.events(ids)
    if scenario.setup:
        async with service.db.uow() as uow:
            await scenario.setup(uow, service.tables, ids)
    for index in order:
        await apply(service, events[index], base_seq + index, scenario.stream)
    found: dict[str, list[dict]] = {}
    async with service.db.session() as session:
        for table_name, where in scenario.rows.items():
            table = service.tables[table_name]
            rows = (await session.execute(select(table).where(where(table, ids)))).mappings().all()
            found[table_name] = sorted((ids.named(dict(r)) for r in rows), key=repr)
    for rows in found.values():  # positions differ between runs only by the run's base
        for row in rows:
            for column in ("source_seq", "active_seq"):
                if row.get(column) is not None:
                    row[column] -= base_seq
    return found


def orders(n: int, name: str) -> list[list[int]]:
    if n <= EXHAUSTIVE_UP_TO:
        return [list(p) for p in itertools.permutations(range(n))]
    rng = random.Random(name)
    sampled = {tuple(range(n))[::-1]}
    while len(sampled) < SAMPLED_ORDERS:
        sampled.add(tuple(rng.sample(range(n), n)))
    return [list(range(n))] + [list(p) for p in sorted(sampled)]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_every_order_of_the_events_ends_in_the_newest_state(services: dict[str, Service],
                                                                   scenario: Scenario) -> None:
    service = services[scenario.service]
    n = len(scenario.events(Ids()))
    base = 1000 * random.randrange(1, 10**6)  # positions grow like a stream's; every run has its own
    in_stream_order = await run(service, scenario, list(range(n)), base)
    scenario.expect(in_stream_order, Ids())
    for order in orders(n, scenario.name)[1:]:
        base += 1000
        got = await run(service, scenario, order, base)
        assert got == in_stream_order, f"applied in order {order}"


async def test_the_reported_cases_by_name(services: dict[str, Service]) -> None:
    """An undo applied before its check-in, a removal before its registration: both stay."""
    documents = services["documents"]
    ids = Ids()
    registered, checked_in, undone = _registered(ids, 0), _checked_in(ids, 3), _undone(ids, 5)
    removed = cc.DelegateRemoved(congress_id=ids["congress"], delegate_id=ids["delegate"], occurred_at=at(7))
    base = 1000 * random.randrange(10**6, 10**7)
    await apply(documents, undone, base + 3, "CONGRESS")
    await apply(documents, checked_in, base + 2, "CONGRESS")
    await apply(documents, removed, base + 4, "CONGRESS")
    await apply(documents, registered, base + 1, "CONGRESS")
    async with documents.db.session() as session:
        delegate = (await session.execute(select(documents.tables["delegates"]).where(
            documents.tables["delegates"].c.id == ids.s("delegate")))).one()
        checkin = (await session.execute(select(documents.tables["checkins"]).where(
            documents.tables["checkins"].c.delegate_id == ids.s("delegate")))).one()
    assert delegate.removed is True and delegate.registered_at == at(0) and delegate.source_seq == base + 4
    assert checkin.removed is True and checkin.source_seq == base + 4
