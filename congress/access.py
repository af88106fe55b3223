"""Who may touch which congress, in the congress service (the owner of congress staff).

An admin reaches every congress; anyone else only the congresses they are staff of. Another
congress's resources answer 404 so their existence is not leaked. The documents and signing
services apply the same rule from their own copy (runtime.access), fed by StaffAdded/Removed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as events
from congress import db as tables
from runtime.auth import Principal
from runtime.db import UnitOfWork, utcnow
from runtime.errors import NotFound


def _uuid_or_404(congress_id: str | uuid.UUID) -> str:
    try:
        return str(uuid.UUID(str(congress_id)))
    except ValueError:
        raise NotFound("not_found", "Not found.") from None


async def congress_exists(session: AsyncSession, congress_id: str | uuid.UUID) -> bool:
    """Hook for the congresses table (owned by the congress use cases): while that table does not
    exist yet, every well-formed id counts as a congress."""
    congresses = tables.metadata.tables.get("congresses")
    if congresses is None:
        return True
    found = await session.scalar(select(congresses.c.id).where(congresses.c.id == str(congress_id)))
    return found is not None


async def is_congress_staff(session: AsyncSession, principal: Principal, congress_id: str | uuid.UUID) -> bool:
    if principal.is_admin:
        return True
    found = await session.scalar(
        select(tables.congress_staff.c.user_id).where(
            tables.congress_staff.c.congress_id == str(congress_id), tables.congress_staff.c.user_id == principal.id
        )
    )
    return found is not None


async def ensure_congress_staff(session: AsyncSession, principal: Principal, congress_id: str | uuid.UUID) -> str:
    """404 unless the congress exists and the caller is an admin or staff of it; returns the id."""
    congress_id = _uuid_or_404(congress_id)
    if not await congress_exists(session, congress_id) or not await is_congress_staff(session, principal, congress_id):
        raise NotFound("not_found", "Not found.")
    return congress_id


async def congress_ids_of(session: AsyncSession, principal: Principal) -> list[str]:
    """The congresses a (non-admin) user works on."""
    rows = await session.scalars(
        select(tables.congress_staff.c.congress_id).where(tables.congress_staff.c.user_id == principal.id)
    )
    return list(rows)


async def add_staff_member(uow: UnitOfWork, congress_id: str, user_id: str, username: str,
                           added_by: str | None) -> dict[str, Any] | None:
    """Insert the membership and emit StaffAdded; None when the user already belongs (no event)."""
    staff = tables.congress_staff
    existing = (await uow.session.execute(
        select(staff).where(staff.c.congress_id == congress_id, staff.c.user_id == user_id)
    )).mappings().first()
    if existing is not None:
        return None
    row = {"congress_id": congress_id, "user_id": user_id, "added_by": added_by, "added_at": utcnow()}
    await uow.session.execute(staff.insert().values(**row))
    await uow.emit(events.StaffAdded(user_id=uuid.UUID(user_id), username=username, congress_id=uuid.UUID(congress_id),
                                     actor=added_by))
    return row


async def add_creator_as_staff(uow: UnitOfWork, congress_id: str | uuid.UUID, principal: Principal) -> None:
    """Call in the transaction that creates a congress: its creator belongs to it."""
    await add_staff_member(uow, str(congress_id), principal.id, principal.username, principal.id)
