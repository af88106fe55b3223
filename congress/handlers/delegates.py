"""Use cases of the roster: import a file, add/edit/remove one delegate, reissue lost secrets.

Delegates' phones and emails stay here: the events carry name, unit and type only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
from congress.db import delegates
from congress.domain.delegate_secrets import secrets_for
from congress.domain.roster import DelegateInput, RosterCheck, RowError, RowProblem, check_rows, checked_delegate, read_roster
from congress.handlers.congresses import staff_congress, writable_congress
from runtime.auth import Principal
from runtime.db import UnitOfWork, utcnow
from runtime.errors import Conflict, Invalid, NotFound

EDITABLE = ("full_name", "unit", "phone", "email", "delegate_type")


@dataclass(frozen=True)
class SecretLinks:
    """How the public URLs of a delegate's secrets are made (key from SECRET_KEY, base URL)."""

    key: bytes
    public_base_url: str

    def urls(self, delegate_id: str, generation: int) -> dict[str, str]:
        found = secrets_for(self.key, delegate_id, generation)
        return {
            "checkin_url": f"{self.public_base_url}/c/{found.checkin_code}",
            "personal_url": f"{self.public_base_url}/d/{found.link_token}",
        }


def delegate_json(row: Any, links: SecretLinks) -> dict[str, Any]:
    return {
        "id": row.id,
        "congress_id": row.congress_id,
        "full_name": row.full_name,
        "unit": row.unit,
        "phone": row.phone,
        "email": row.email,
        "delegate_type": row.delegate_type,
        "checked_in_at": row.checked_in_at.isoformat() if row.checked_in_at else None,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        **links.urls(row.id, row.secrets_generation),
    }


def _public_fields(cls: type, congress_id: str, delegate_id: str, d: DelegateInput) -> Any:
    return cls(congress_id=uuid.UUID(congress_id), delegate_id=uuid.UUID(delegate_id), full_name=d.full_name,
               unit=d.unit, delegate_type=d.delegate_type)


async def _roster_keys(session: AsyncSession, congress_id: str, except_id: str | None = None) -> tuple[set[str], set[str]]:
    query = select(delegates.c.name_key, delegates.c.phone).where(delegates.c.congress_id == congress_id)
    if except_id:
        query = query.where(delegates.c.id != except_id)
    rows = (await session.execute(query)).all()
    return {r.name_key for r in rows}, {r.phone for r in rows if r.phone}


async def _insert(uow: UnitOfWork, links: SecretLinks, congress_id: str, people: list[DelegateInput]) -> list[str]:
    now = utcnow()
    values = []
    for person in people:
        delegate_id = str(uuid.uuid4())
        found = secrets_for(links.key, delegate_id, 1)
        values.append(dict(
            id=delegate_id, congress_id=congress_id, full_name=person.full_name, name_key=person.key, unit=person.unit,
            phone=person.phone, email=person.email, delegate_type=person.delegate_type, secrets_generation=1,
            checkin_hash=found.checkin_hash, link_hash=found.link_hash, created_at=now, updated_at=now,
        ))
    if values:
        await uow.session.execute(delegates.insert(), values)
    for person, row in zip(people, values, strict=True):
        await uow.emit(_public_fields(cc.DelegateRegistered, congress_id, row["id"], person))
    return [row["id"] for row in values]


@dataclass
class ImportReport:
    imported: int
    rows: int
    errors: list[RowError]


async def import_roster(uow: UnitOfWork, user: Principal, links: SecretLinks, congress_id: str, data: bytes,
                        partial: bool) -> ImportReport:
    """All rows or none, unless `partial`: then the good rows are imported and the bad reported."""
    await writable_congress(uow, user, congress_id)
    rows = read_roster(data)
    keys, phones = await _roster_keys(uow.session, congress_id)
    checked: RosterCheck = check_rows(rows, keys, phones)
    if checked.errors and not partial:
        return ImportReport(0, len(rows), checked.errors)
    await _insert(uow, links, congress_id, [person for _, person in checked.valid])
    return ImportReport(len(checked.valid), len(rows), checked.errors)


def _one(values: dict[str, Any]) -> DelegateInput:
    try:
        return checked_delegate({k: v for k, v in values.items() if v is not None})
    except RowProblem as problem:
        raise Invalid(problem.code, problem.reason, **problem.params) from problem


def _duplicate_check(person: DelegateInput, keys: set[str], phones: set[str]) -> None:
    if person.key in keys or (person.phone and person.phone in phones):
        raise Conflict("duplicate", "This delegate is already on the roster.")


async def add_delegate(uow: UnitOfWork, user: Principal, links: SecretLinks, congress_id: str,
                       values: dict[str, Any]) -> dict[str, Any]:
    await writable_congress(uow, user, congress_id)
    person = _one(values)
    _duplicate_check(person, *await _roster_keys(uow.session, congress_id))
    [delegate_id] = await _insert(uow, links, congress_id, [person])
    return delegate_json(await delegate_row(uow.session, congress_id, delegate_id), links)


async def delegate_row(session: AsyncSession, congress_id: str, delegate_id: str) -> Any:
    row = (await session.execute(select(delegates).where(
        delegates.c.id == delegate_id, delegates.c.congress_id == congress_id))).first()
    if row is None:
        raise NotFound("not_found", "Not found.")
    return row


async def get_delegate(session: AsyncSession, user: Principal, links: SecretLinks, congress_id: str,
                       delegate_id: str) -> dict[str, Any]:
    await staff_congress(session, user, congress_id)
    return delegate_json(await delegate_row(session, congress_id, delegate_id), links)


async def edit_delegate(uow: UnitOfWork, user: Principal, links: SecretLinks, congress_id: str, delegate_id: str,
                        changes: dict[str, Any]) -> dict[str, Any]:
    await writable_congress(uow, user, congress_id)
    row = await delegate_row(uow.session, congress_id, delegate_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid("unknown_fields", "Unknown fields: {fields}.", fields=", ".join(sorted(unknown)))
    person = _one({name: getattr(row, name) for name in EDITABLE} | changes)
    _duplicate_check(person, *await _roster_keys(uow.session, congress_id, except_id=delegate_id))
    if any(getattr(row, name) != getattr(person, name) for name in EDITABLE):
        await uow.session.execute(delegates.update().where(delegates.c.id == delegate_id).values(
            name_key=person.key, updated_at=utcnow(), **{name: getattr(person, name) for name in EDITABLE}))
        if (row.full_name, row.unit, row.delegate_type) != (person.full_name, person.unit, person.delegate_type):
            await uow.emit(_public_fields(cc.DelegateUpdated, congress_id, delegate_id, person))
    return delegate_json(await delegate_row(uow.session, congress_id, delegate_id), links)


async def remove_delegate(uow: UnitOfWork, user: Principal, congress_id: str, delegate_id: str) -> None:
    await writable_congress(uow, user, congress_id)
    await delegate_row(uow.session, congress_id, delegate_id)
    await uow.session.execute(delete(delegates).where(delegates.c.id == delegate_id))
    await uow.emit(cc.DelegateRemoved(congress_id=uuid.UUID(congress_id), delegate_id=uuid.UUID(delegate_id)))


async def reissue_secrets(uow: UnitOfWork, user: Principal, links: SecretLinks, congress_id: str,
                          delegate_id: str) -> dict[str, Any]:
    """A lost badge or slip: new check-in code and personal link; the old ones stop working."""
    await writable_congress(uow, user, congress_id)
    row = await delegate_row(uow.session, congress_id, delegate_id)
    generation = row.secrets_generation + 1
    found = secrets_for(links.key, delegate_id, generation)
    await uow.session.execute(delegates.update().where(delegates.c.id == delegate_id).values(
        secrets_generation=generation, checkin_hash=found.checkin_hash, link_hash=found.link_hash, updated_at=utcnow()))
    await uow.emit(cc.DelegateSecretsReissued(congress_id=uuid.UUID(congress_id), delegate_id=uuid.UUID(delegate_id)))
    return delegate_json(await delegate_row(uow.session, congress_id, delegate_id), links)


async def list_delegates(session: AsyncSession, user: Principal, links: SecretLinks, congress_id: str,
                         after: str | None, limit: int) -> dict[str, Any]:
    """Alphabetical by full name (then id), cursor = the last id of the page."""
    await staff_congress(session, user, congress_id)
    query = select(delegates).where(delegates.c.congress_id == congress_id)
    if after:
        anchor = (await session.execute(select(delegates.c.full_name).where(
            delegates.c.id == after, delegates.c.congress_id == congress_id))).first()
        if anchor is not None:
            query = query.where((delegates.c.full_name > anchor.full_name) | and_(
                delegates.c.full_name == anchor.full_name, delegates.c.id > after))
    rows = (await session.execute(query.order_by(delegates.c.full_name, delegates.c.id).limit(limit + 1))).all()
    items = [delegate_json(r, links) for r in rows[:limit]]
    total = await session.scalar(select(func.count()).select_from(delegates).where(delegates.c.congress_id == congress_id))
    return {"items": items, "next": items[-1]["id"] if len(rows) > limit else None, "total": total}


async def roster_for_badges(session: AsyncSession, user: Principal, congress_id: str,
                            delegate_id: str | None = None) -> tuple[Any, list[Any]]:
    congress = await staff_congress(session, user, congress_id)
    query = select(delegates.c.id, delegates.c.full_name, delegates.c.unit, delegates.c.delegate_type,
                   delegates.c.secrets_generation).where(delegates.c.congress_id == congress_id)
    if delegate_id:
        query = query.where(delegates.c.id == delegate_id)
    rows = (await session.execute(query.order_by(delegates.c.unit, delegates.c.full_name, delegates.c.id))).all()
    if delegate_id and not rows:
        raise NotFound("not_found", "Not found.")
    return congress, rows
