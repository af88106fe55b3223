"""/api/audit: the staff actions of every service, for an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from congress.api.deps import AdminUser, Runtime
from congress.handlers.audit import list_audit
from runtime.auth import StaffRoute

router = APIRouter(prefix="/api/audit", tags=["audit"], route_class=StaffRoute)

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _aware(moment: datetime | None) -> datetime | None:
    """A time without an offset is read as Vietnam time (what an admin at the venue means)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=LOCAL)


@router.get("")
async def read_audit(admin: AdminUser, runtime: Runtime, actor: str | None = None, action: str | None = None,
                     congress_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
                     cursor: str | None = None, limit: int = Query(100, ge=1, le=500)) -> dict[str, Any]:
    return await list_audit(runtime.db, actor=actor, action=action, congress_id=congress_id, since=_aware(since),
                            until=_aware(until), cursor=cursor, limit=limit)
