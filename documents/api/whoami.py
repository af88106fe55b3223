"""GET /api/documents/me: the caller as this service sees them (proves token checks work here too)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from runtime.auth import CurrentUser, StaffRoute

router = APIRouter(tags=["whoami"], route_class=StaffRoute)


@router.get("/api/documents/me")
async def me(user: CurrentUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "full_name": user.full_name, "roles": sorted(user.roles),
            "auth_time": user.auth_time, "session_id": user.session_id}
