"""/api/congresses/{congress_id}/staff: who works on a congress (admin, or a secretary of it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from congress.api.deps import Runtime, SecretaryUser, audit_for
from congress.handlers import staff
from runtime.auth import CurrentUser, StaffRoute

router = APIRouter(prefix="/api/congresses/{congress_id}/staff", tags=["staff"], route_class=StaffRoute)


class StaffIn(BaseModel):
    user_id: str | None = None
    username: str | None = None


@router.get("")
async def list_staff(congress_id: str, user: CurrentUser, runtime: Runtime) -> dict[str, Any]:
    return await staff.list_staff(runtime.db, congress_id, user)


@router.post("", status_code=201)
async def add_staff(congress_id: str, body: StaffIn, user: SecretaryUser, request: Request,
                    runtime: Runtime) -> JSONResponse:
    """201 when added; 200 with the same member when they already were."""
    member, created = await staff.add_staff(runtime.db, congress_id, body.user_id, body.username, user,
                                            audit_for(request, user))
    return JSONResponse(member, status_code=201 if created else 200)


@router.delete("/{user_id}")
async def remove_staff(congress_id: str, user_id: str, user: SecretaryUser, request: Request,
                       runtime: Runtime) -> dict[str, Any]:
    return await staff.remove_staff(runtime.db, congress_id, user_id, user, audit_for(request, user))
