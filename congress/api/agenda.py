"""HTTP → agenda use cases: `/api/congresses/{id}/agenda…`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from congress.api.congress_deps import Runtime, Secretary
from congress.handlers import agenda as use
from congress.handlers.congresses import staff_congress
from runtime import audit
from runtime.auth import StaffRoute

router = APIRouter(prefix="/api/congresses/{congress_id}/agenda", tags=["agenda"], route_class=StaffRoute)


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=500)
    description: str = Field("", max_length=5000)
    position: int | None = Field(None, ge=1)


class ItemChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=5000)
    position: int | None = Field(None, ge=1)


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(max_length=1000)


@router.get("")
async def list_items(congress_id: str, user: Secretary, runtime: Runtime) -> dict[str, Any]:
    async with runtime.db.session() as session:
        await staff_congress(session, user, congress_id)
        return {"items": await use.agenda_of(session, congress_id), "next": None}


@router.post("", status_code=201)
async def add_item(congress_id: str, body: ItemIn, user: Secretary, runtime: Runtime, request: Request) -> dict[str, Any]:
    async with runtime.db.uow() as uow:
        item = await use.add_item(uow, user, congress_id, body.title, body.description, body.position)
        await audit.record(uow, request, user, "agenda.item_added", f"agenda_item:{item['id']}", congress_id)
        return item


@router.patch("/{item_id}")
async def edit_item(congress_id: str, item_id: str, body: ItemChanges, user: Secretary, runtime: Runtime,
                    request: Request) -> dict[str, Any]:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    async with runtime.db.uow() as uow:
        item = await use.edit_item(uow, user, congress_id, item_id, changes)
        await audit.record(uow, request, user, "agenda.item_edited", f"agenda_item:{item_id}", congress_id)
        return item


@router.put("/order")
async def reorder(congress_id: str, body: Order, user: Secretary, runtime: Runtime, request: Request) -> dict[str, Any]:
    async with runtime.db.uow() as uow:
        items = await use.reorder(uow, user, congress_id, body.ids)
        await audit.record(uow, request, user, "agenda.reordered", f"congress:{congress_id}", congress_id)
        return {"items": items, "next": None}


@router.delete("/{item_id}", status_code=204)
async def remove_item(congress_id: str, item_id: str, user: Secretary, runtime: Runtime, request: Request) -> Response:
    async with runtime.db.uow() as uow:
        await use.remove_item(uow, user, congress_id, item_id)
        await audit.record(uow, request, user, "agenda.item_removed", f"agenda_item:{item_id}", congress_id)
    return Response(status_code=204)
