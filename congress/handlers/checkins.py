"""Use cases of the door: check a delegate in (by badge code or by id), undo a wrong check-in,
find a delegate by name at the desk.

A check-in is one row of `checkins` keyed by the delegate: `INSERT … ON CONFLICT DO NOTHING`
makes concurrent scans of the same badge insert once on SQLite and PostgreSQL alike; the
losers read the winner's row and answer with its time (an idempotent repeat).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
from congress.db import checkins, delegate_directory, delegates
from congress.domain.attendance import clean_reason, search_words
from congress.domain.delegate_secrets import looks_like_secret, secret_hash
from congress.handlers.closing import ensure_open_for_writes
from congress.handlers.congresses import staff_congress
from runtime.auth import Principal
from runtime.db import UnitOfWork, utcnow
from runtime.errors import Invalid, NotFound


@dataclass(frozen=True)
class CheckinResult:
    delegate_id: str
    congress_id: str
    full_name: str
    unit: str
    checked_in_at: datetime
    created: bool

    def as_json(self) -> dict[str, Any]:
        return {"delegate_id": self.delegate_id, "congress_id": self.congress_id, "full_name": self.full_name,
                "unit": self.unit, "checked_in_at": self.checked_in_at.isoformat(),
                "already_checked_in": not self.created}


def _uuid_or_none(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError):
        return None


async def delegate_by_code(session: AsyncSession, code: str) -> Any:
    """The delegate whose current badge carries `code` (any congress), or None."""
    if not looks_like_secret(code):
        return None
    return (await session.execute(
        select(delegates.c.id, delegates.c.congress_id, delegates.c.full_name, delegates.c.unit,
               delegates.c.delegate_type)
        .where(delegates.c.checkin_hash == secret_hash(code))
    )).first()


async def checkin_of(session: AsyncSession, delegate_id: str) -> Any:
    return (await session.execute(select(checkins).where(checkins.c.delegate_id == delegate_id))).first()


def _insert_once(dialect: str, values: dict[str, Any]) -> Any:
    module = postgresql if dialect == "postgresql" else sqlite
    return (module.insert(checkins).values(**values).on_conflict_do_nothing(index_elements=["delegate_id"])
            .returning(checkins.c.delegate_id))  # a row back = inserted (rowcount is not reliable on every driver)


async def check_in(uow: UnitOfWork, user: Principal, congress_id: str, *, code: str | None = None,
                   delegate_id: str | None = None, method: str = "api") -> CheckinResult:
    """Check the delegate in once; a repeat answers the first check-in (created=False)."""
    await staff_congress(uow.session, user, congress_id)
    await ensure_open_for_writes(uow.session, congress_id)
    if code:
        found = await delegate_by_code(uow.session, code)
        if found is None or found.congress_id != congress_id:
            raise NotFound("unknown_badge", "No delegate of this congress has this badge.")
    elif delegate_id:
        wanted = _uuid_or_none(delegate_id)
        found = None if wanted is None else (await uow.session.execute(
            select(delegates.c.id, delegates.c.congress_id, delegates.c.full_name, delegates.c.unit)
            .where(delegates.c.id == wanted, delegates.c.congress_id == congress_id))).first()
        if found is None:
            raise NotFound("not_found", "Not found.")
    else:
        raise Invalid("code_or_delegate", "Give the badge code or the delegate id.")
    now = utcnow()
    dialect = uow.session.get_bind().dialect.name
    inserted = await uow.session.execute(_insert_once(dialect, {
        "delegate_id": found.id, "congress_id": congress_id, "checked_in_at": now, "checked_in_by": user.id,
        "method": method}))
    if inserted.first() is not None:
        await uow.session.execute(delegates.update().where(delegates.c.id == found.id).values(checked_in_at=now))
        await uow.emit(cc.DelegateCheckedIn(congress_id=uuid.UUID(congress_id), delegate_id=uuid.UUID(found.id),
                                            checked_in_at=now, actor=user.id))
        return CheckinResult(found.id, congress_id, found.full_name, found.unit, now, True)
    first = await checkin_of(uow.session, found.id)
    return CheckinResult(found.id, congress_id, found.full_name, found.unit, first.checked_in_at, False)


async def undo_check_in(uow: UnitOfWork, user: Principal, congress_id: str, delegate_id: str,
                        reason: str) -> dict[str, Any]:
    """Take back a wrong check-in (the reason goes into the event and the audit trail).
    Undoing a delegate who is not checked in changes nothing."""
    await staff_congress(uow.session, user, congress_id)
    await ensure_open_for_writes(uow.session, congress_id)
    wanted = _uuid_or_none(delegate_id)
    row = None if wanted is None else (await uow.session.execute(select(delegates.c.id).where(
        delegates.c.id == wanted, delegates.c.congress_id == congress_id))).first()
    if row is None:
        raise NotFound("not_found", "Not found.")
    why = clean_reason(reason)
    if not why:
        raise Invalid("reason_required", "Please give a reason for the undo.")
    removed = await uow.session.execute(delete(checkins).where(checkins.c.delegate_id == row.id))
    undone = removed.rowcount == 1
    if undone:
        await uow.session.execute(delegates.update().where(delegates.c.id == row.id).values(checked_in_at=None))
        await uow.emit(cc.DelegateCheckinUndone(congress_id=uuid.UUID(congress_id), delegate_id=uuid.UUID(row.id),
                                                reason=why, actor=user.id))
    return {"delegate_id": row.id, "checked_in_at": None, "undone": undone, "reason": why}


async def search_delegates(session: AsyncSession, congress_id: str, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Diacritics-insensitive name search: the query's words begin words of the name, in order
    ("nguyen nguyen" finds "Nguyễn Thị Nguyên", "thi nguyen" does not find "Nguyễn Thị Lan")."""
    words = search_words(query)
    if not words:
        return []
    pattern = "".join(f"% {_escape(w)}" for w in words) + "%"
    rows = (await session.execute(
        select(delegates.c.id, delegates.c.full_name, delegates.c.unit, delegates.c.delegate_type,
               checkins.c.checked_in_at)
        .select_from(delegate_directory.join(delegates, delegates.c.id == delegate_directory.c.delegate_id)
                     .outerjoin(checkins, checkins.c.delegate_id == delegates.c.id))
        .where(delegate_directory.c.congress_id == congress_id, delegates.c.congress_id == congress_id,
               delegate_directory.c.removed.is_(False), delegate_directory.c.search_name.like(pattern, escape="\\"))
        .order_by(delegates.c.full_name, delegates.c.id).limit(limit)
    )).all()
    return [{"id": r.id, "full_name": r.full_name, "unit": r.unit, "delegate_type": r.delegate_type,
             "checked_in_at": r.checked_in_at.isoformat() if r.checked_in_at else None} for r in rows]


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
