"""HTTP → congress use cases: `/api/congresses…` (create, list, read, change, open)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from congress.api.congress_deps import Runtime, Secretary
from congress.handlers import congresses as use
from runtime import audit
from runtime.auth import StaffRoute

router = APIRouter(prefix="/api/congresses", tags=["congresses"], route_class=StaffRoute)


class CongressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=300)
    organisation: str = Field("", max_length=300)
    unit: str = Field("", max_length=300)
    venue: str = Field("", max_length=300)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    quorum: float = Field(0.5, gt=0, le=1)


class CongressChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, max_length=300)
    organisation: str | None = Field(None, max_length=300)
    unit: str | None = Field(None, max_length=300)
    venue: str | None = Field(None, max_length=300)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    quorum: float | None = Field(None, gt=0, le=1)


@router.post("", status_code=201)
async def create_congress(body: CongressIn, user: Secretary, runtime: Runtime, request: Request) -> dict[str, Any]:
    async with runtime.db.uow() as uow:
        created = await use.create_congress(uow, user, body.model_dump())
        await audit.record(uow, request, user, "congress.created", f"congress:{created['id']}", created["id"])
        return created


@router.get("")
async def list_congresses(user: Secretary, runtime: Runtime, after: str | None = None,
                          limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    async with runtime.db.session() as session:
        return await use.list_congresses(session, user, after, limit)


@router.get("/{congress_id}")
async def get_congress(congress_id: str, user: Secretary, runtime: Runtime) -> dict[str, Any]:
    async with runtime.db.session() as session:
        return use.congress_json(await use.staff_congress(session, user, congress_id))


@router.patch("/{congress_id}")
async def update_congress(congress_id: str, body: CongressChanges, user: Secretary, runtime: Runtime,
                          request: Request) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("title", "") is None or changes.get("quorum", 1) is None:
        changes = {k: v for k, v in changes.items() if not (k in ("title", "quorum") and v is None)}
    async with runtime.db.uow() as uow:
        updated = await use.update_congress(uow, user, congress_id, changes)
        await audit.record(uow, request, user, "congress.updated", f"congress:{congress_id}", congress_id,
                           fields=",".join(sorted(changes)))
        return updated


@router.post("/{congress_id}/open")
async def open_congress(congress_id: str, user: Secretary, runtime: Runtime, request: Request) -> JSONResponse:
    async with runtime.db.uow() as uow:
        opened = await use.open_congress(uow, user, congress_id)
        await audit.record(uow, request, user, "congress.opened", f"congress:{congress_id}", congress_id)
        return JSONResponse(opened)
