"""Use cases of the ordered agenda: add, edit, reorder, remove (while the congress is not closed).

Every change emits AgendaChanged with the whole list, so consumers never need to replay
partial moves to know the order.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
from congress.db import agenda_items
from congress.domain.congresses import clean_text
from congress.handlers.congresses import writable_congress
from runtime.auth import Principal
from runtime.db import UnitOfWork
from runtime.errors import Invalid, NotFound


def item_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "position": row.position, "title": row.title, "description": row.description}


async def agenda_of(session: AsyncSession, congress_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(agenda_items).where(agenda_items.c.congress_id == congress_id).order_by(agenda_items.c.position)
    )).all()
    return [item_json(r) for r in rows]


def _checked(title: str | None, description: str | None) -> tuple[str, str]:
    clean_title = clean_text(title, 500)
    if not clean_title:
        raise Invalid("title_required", "An agenda item needs a title.")
    return clean_title, clean_text(description, 5000)


async def _renumber_and_announce(uow: UnitOfWork, congress_id: str, order: list[str]) -> list[dict[str, Any]]:
    for position, item_id in enumerate(order, start=1):
        await uow.session.execute(agenda_items.update().where(agenda_items.c.id == item_id).values(position=position))
    items = await agenda_of(uow.session, congress_id)
    await uow.emit(cc.AgendaChanged(
        congress_id=uuid.UUID(congress_id),
        items=[cc.AgendaItem(id=uuid.UUID(i["id"]), position=i["position"], title=i["title"],
                             description=i["description"]) for i in items],
    ))
    return items


async def add_item(uow: UnitOfWork, user: Principal, congress_id: str, title: str, description: str = "",
                   position: int | None = None) -> dict[str, Any]:
    await writable_congress(uow, user, congress_id)
    clean_title, clean_description = _checked(title, description)
    order = [i["id"] for i in await agenda_of(uow.session, congress_id)]
    item_id = str(uuid.uuid4())
    await uow.session.execute(agenda_items.insert().values(
        id=item_id, congress_id=congress_id, position=len(order) + 1, title=clean_title, description=clean_description))
    index = len(order) if position is None else max(0, min(position - 1, len(order)))
    order.insert(index, item_id)
    items = await _renumber_and_announce(uow, congress_id, order)
    return next(i for i in items if i["id"] == item_id)


async def _existing(uow: UnitOfWork, congress_id: str, item_id: str) -> list[str]:
    order = [i["id"] for i in await agenda_of(uow.session, congress_id)]
    if item_id not in order:
        raise NotFound("not_found", "Not found.")
    return order


async def edit_item(uow: UnitOfWork, user: Principal, congress_id: str, item_id: str,
                    changes: dict[str, Any]) -> dict[str, Any]:
    await writable_congress(uow, user, congress_id)
    order = await _existing(uow, congress_id, item_id)
    current = next(i for i in await agenda_of(uow.session, congress_id) if i["id"] == item_id)
    title, description = _checked(changes.get("title", current["title"]),
                                  changes.get("description", current["description"]))
    await uow.session.execute(agenda_items.update().where(agenda_items.c.id == item_id).values(
        title=title, description=description))
    if "position" in changes and changes["position"] is not None:
        order.remove(item_id)
        order.insert(max(0, min(int(changes["position"]) - 1, len(order))), item_id)
    items = await _renumber_and_announce(uow, congress_id, order)
    return next(i for i in items if i["id"] == item_id)


async def reorder(uow: UnitOfWork, user: Principal, congress_id: str, ids: list[str]) -> list[dict[str, Any]]:
    """`ids` must name every item exactly once, in the new order."""
    await writable_congress(uow, user, congress_id)
    current = [i["id"] for i in await agenda_of(uow.session, congress_id)]
    if sorted(ids) != sorted(current):
        raise Invalid("bad_order", "The new order must list every agenda item exactly once.")
    return await _renumber_and_announce(uow, congress_id, ids)


async def remove_item(uow: UnitOfWork, user: Principal, congress_id: str, item_id: str) -> list[dict[str, Any]]:
    await writable_congress(uow, user, congress_id)
    order = await _existing(uow, congress_id, item_id)
    await uow.session.execute(delete(agenda_items).where(agenda_items.c.id == item_id))
    order.remove(item_id)
    return await _renumber_and_announce(uow, congress_id, order)
