"""The audit trail: AuditRecorded events of every service, gathered and filtered."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from congress.db import audit_log
from contracts.base import Event
from runtime.db import Database, UnitOfWork
from runtime.errors import Invalid


async def store_audit_record(event: Event, uow: UnitOfWork) -> None:
    """congress/documents/signing `.audit.recorded` -> one row (the inbox makes redelivery a no-op)."""
    await uow.session.execute(audit_log.insert().values(
        id=str(event.event_id), at=event.occurred_at, service=event.producer, actor_id=event.actor,
        actor_username=event.actor_username, action=event.action, target=event.target,  # type: ignore[attr-defined]
        congress_id=str(event.congress_id) if event.congress_id else None, ip=event.ip,  # type: ignore[attr-defined]
        user_agent=event.user_agent, detail=dict(event.detail),  # type: ignore[attr-defined]
    ))


def _cursor(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{row['at'].isoformat()}|{row['id']}".encode()).decode()


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), ident
    except ValueError:
        raise Invalid("invalid_cursor", "The page cursor is not valid.") from None


def _entry_json(row: Any) -> dict[str, Any]:
    return {key: (row[key].isoformat() if key == "at" else row[key]) for key in row.keys()}


async def list_audit(db: Database, *, actor: str | None, action: str | None, congress_id: str | None,
                     since: datetime | None, until: datetime | None, cursor: str | None, limit: int) -> dict[str, Any]:
    """Newest first. `actor` matches a username or a user id; `action` a name or a prefix ending in '.'."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit + 1)
    if actor:
        query = query.where(or_(audit_log.c.actor_username == actor.lower(), audit_log.c.actor_id == actor))
    if action:
        query = query.where(audit_log.c.action.startswith(action) if action.endswith(".") else audit_log.c.action == action)
    if congress_id:
        query = query.where(audit_log.c.congress_id == congress_id)
    if since:
        query = query.where(audit_log.c.at >= since)
    if until:
        query = query.where(audit_log.c.at < until)
    if cursor:
        at, ident = _parse_cursor(cursor)
        query = query.where(or_(audit_log.c.at < at, and_(audit_log.c.at == at, audit_log.c.id < ident)))
    async with db.session() as session:
        rows = (await session.execute(query)).mappings().all()
    page = rows[:limit]
    return {"items": [_entry_json(r) for r in page], "next": _cursor(page[-1]) if len(rows) > limit else None}
