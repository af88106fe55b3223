"""Use cases of a congress itself: create, read, list, change, open."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
from congress.access import add_creator_as_staff, ensure_congress_staff
from congress.db import congress_staff, congresses
from congress.domain.congresses import CongressFields, ensure_writable, next_state_on_open
from runtime.auth import Principal
from runtime.db import UnitOfWork, utcnow
from runtime.errors import Invalid, NotFound

EDITABLE = ("title", "organisation", "unit", "venue", "starts_at", "ends_at", "quorum")


def congress_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "organisation": row.organisation,
        "unit": row.unit,
        "venue": row.venue,
        "starts_at": row.starts_at.isoformat() if row.starts_at else None,
        "ends_at": row.ends_at.isoformat() if row.ends_at else None,
        "quorum": row.quorum,
        "state": row.state,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "opened_at": row.opened_at.isoformat() if row.opened_at else None,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


async def congress_row(session: AsyncSession, congress_id: str) -> Any:
    row = (await session.execute(select(congresses).where(congresses.c.id == congress_id))).first()
    if row is None:
        raise NotFound("not_found", "Not found.")
    return row


async def staff_congress(session: AsyncSession, user: Principal, congress_id: str) -> Any:
    """The congress, if `user` may work on it (admin, or staff of it); 404 otherwise."""
    await ensure_congress_staff(session, user, congress_id)
    return await congress_row(session, congress_id)


async def writable_congress(uow: UnitOfWork, user: Principal, congress_id: str) -> Any:
    """As `staff_congress`, inside a write, and refusing a closed congress (409)."""
    row = await staff_congress(uow.session, user, congress_id)
    ensure_writable(row.state)
    return row


def _changed_event(cls: type, row_id: str, fields: CongressFields) -> Any:
    return cls(congress_id=uuid.UUID(row_id), title=fields.title, organisation=fields.organisation, unit=fields.unit,
               venue=fields.venue, starts_at=fields.starts_at, ends_at=fields.ends_at, quorum=fields.quorum)


async def create_congress(uow: UnitOfWork, user: Principal, values: dict[str, Any]) -> dict[str, Any]:
    fields = CongressFields.checked(**values)
    congress_id = str(uuid.uuid4())
    now = utcnow()
    await uow.session.execute(
        congresses.insert().values(id=congress_id, state="draft", created_by=user.id, created_at=now, updated_at=now,
                                   **fields.__dict__)
    )
    await uow.emit(_changed_event(cc.CongressCreated, congress_id, fields))
    await add_creator_as_staff(uow, congress_id, user)
    return congress_json(await congress_row(uow.session, congress_id))


async def update_congress(uow: UnitOfWork, user: Principal, congress_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    row = await writable_congress(uow, user, congress_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid("unknown_fields", "Unknown fields: {fields}.", fields=", ".join(sorted(unknown)))
    merged = {name: getattr(row, name) for name in EDITABLE} | changes
    fields = CongressFields.checked(**merged)
    if any(getattr(row, name) != getattr(fields, name) for name in EDITABLE):
        await uow.session.execute(
            congresses.update().where(congresses.c.id == congress_id).values(updated_at=utcnow(), **fields.__dict__)
        )
        await uow.emit(_changed_event(cc.CongressUpdated, congress_id, fields))
    return congress_json(await congress_row(uow.session, congress_id))


async def open_congress(uow: UnitOfWork, user: Principal, congress_id: str) -> dict[str, Any]:
    row = await staff_congress(uow.session, user, congress_id)
    if next_state_on_open(row.state) == "open":
        now = utcnow()
        await uow.session.execute(
            congresses.update().where(congresses.c.id == congress_id).values(state="open", opened_at=now, updated_at=now)
        )
        await uow.emit(cc.CongressOpened(congress_id=uuid.UUID(congress_id)))
    return congress_json(await congress_row(uow.session, congress_id))


async def list_congresses(session: AsyncSession, user: Principal, after: str | None, limit: int) -> dict[str, Any]:
    """Newest first; a secretary sees the congresses they are staff of, an admin all of them."""
    query = select(congresses)
    if not user.is_admin:
        query = query.join(congress_staff, and_(congress_staff.c.congress_id == congresses.c.id,
                                                congress_staff.c.user_id == user.id))
    if after:
        anchor = (await session.execute(select(congresses.c.created_at).where(congresses.c.id == after))).first()
        if anchor is not None:
            query = query.where(or_(congresses.c.created_at < anchor.created_at,
                                    and_(congresses.c.created_at == anchor.created_at, congresses.c.id < after)))
    rows = (await session.execute(
        query.order_by(congresses.c.created_at.desc(), congresses.c.id.desc()).limit(limit + 1)
    )).all()
    items = [congress_json(r) for r in rows[:limit]]
    return {"items": items, "next": items[-1]["id"] if len(rows) > limit else None}
