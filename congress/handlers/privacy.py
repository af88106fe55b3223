"""A delegate's personal data (Decree 13/2023): an admin exports it, or erases the phone and the
email. The name, unit and attendance stay for the record, as the law allows. Both acts are
recorded in the audit trail by the caller, never with the data itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from congress.db import checkins, delegates
from congress.handlers.congresses import staff_congress
from runtime.auth import Principal
from runtime.db import UnitOfWork, utcnow
from runtime.errors import NotFound


async def _delegate(session: AsyncSession, congress_id: str, delegate_id: str) -> Any:
    row = (await session.execute(
        select(delegates, checkins.c.checked_in_at.label("present_since"), checkins.c.method)
        .select_from(delegates.outerjoin(checkins, checkins.c.delegate_id == delegates.c.id))
        .where(delegates.c.id == delegate_id, delegates.c.congress_id == congress_id))).first()
    if row is None:
        raise NotFound("not_found", "Not found.")
    return row


async def export_personal_data(session: AsyncSession, user: Principal, congress_id: str,
                               delegate_id: str) -> dict[str, Any]:
    """Everything this service holds about the delegate, personally identifying or not."""
    congress = await staff_congress(session, user, congress_id)
    row = await _delegate(session, congress_id, delegate_id)
    return {
        "delegate_id": row.id,
        "congress": {"id": congress.id, "title": congress.title},
        "full_name": row.full_name,
        "unit": row.unit,
        "delegate_type": row.delegate_type,
        "phone": row.phone,
        "email": row.email,
        "registered_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "checked_in_at": row.present_since.isoformat() if row.present_since else None,
        "checkin_method": row.method,
        "exported_at": utcnow().isoformat(),
    }


async def erase_personal_data(uow: UnitOfWork, user: Principal, congress_id: str, delegate_id: str) -> dict[str, Any]:
    """Clear phone and email (also after the close: erasure is the person's right, and the
    record never held them). Erasing again changes nothing and answers the same."""
    await staff_congress(uow.session, user, congress_id)
    row = await _delegate(uow.session, congress_id, delegate_id)
    erased = bool(row.phone or row.email)
    if erased:
        await uow.session.execute(delegates.update().where(delegates.c.id == row.id).values(
            phone="", email="", updated_at=utcnow()))
    return {"delegate_id": row.id, "full_name": row.full_name, "unit": row.unit, "phone": "", "email": "",
            "checked_in_at": row.present_since.isoformat() if row.present_since else None, "erased": erased}
