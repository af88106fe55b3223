"""Congress staff: who works on which congress (announced as StaffAdded / StaffRemoved)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select

import contracts.congress as events
from congress import model
from congress.access import add_staff_member, ensure_congress_staff
from congress.db import congress_staff, users
from congress.handlers.common import Audit
from runtime.auth import Principal
from runtime.db import Database
from runtime.errors import Invalid, NotFound


def _member_json(row: Any) -> dict[str, Any]:
    return {
        "user_id": row["user_id"],
        "username": row["username"],
        "full_name": row["full_name"],
        "roles": list(row["roles"]),
        "active": row["active"],
        "added_by": row["added_by"],
        "added_at": row["added_at"].isoformat(),
    }


def _members_query(congress_id: str):  # type: ignore[no-untyped-def]
    return (
        select(congress_staff.c.user_id, congress_staff.c.added_by, congress_staff.c.added_at,
               users.c.username, users.c.full_name, users.c.roles, users.c.active)
        .join(users, users.c.id == congress_staff.c.user_id)
        .where(congress_staff.c.congress_id == congress_id)
    )


async def list_staff(db: Database, congress_id: str, caller: Principal) -> dict[str, Any]:
    async with db.session() as session:
        congress_id = await ensure_congress_staff(session, caller, congress_id)
        rows = (await session.execute(_members_query(congress_id).order_by(users.c.username))).mappings().all()
    return {"items": [_member_json(r) for r in rows], "next": None}


async def add_staff(db: Database, congress_id: str, user_id: str | None, username: str | None, caller: Principal,
                    audit: Audit) -> tuple[dict[str, Any], bool]:
    """Returns (member, created); adding someone already on the staff answers the first result."""
    async with db.uow() as uow:
        congress_id = await ensure_congress_staff(uow.session, caller, congress_id)
        query = select(users)
        if user_id:
            try:
                query = query.where(users.c.id == str(uuid.UUID(user_id)))
            except ValueError:
                raise Invalid("unknown_user", "There is no active user with this name.") from None
        elif username:
            query = query.where(users.c.username == model.normalise_username(username))
        else:
            raise Invalid("unknown_user", "There is no active user with this name.")
        user = (await uow.session.execute(query)).mappings().first()
        if user is None or not user["active"]:
            raise Invalid("unknown_user", "There is no active user with this name.")
        created = await add_staff_member(uow, congress_id, user["id"], user["username"], caller.id)
        if created is not None:
            await audit(uow, "staff.added", target=f"user:{user['id']}", congress_id=congress_id,
                        username=user["username"])
        row = (await uow.session.execute(
            _members_query(congress_id).where(congress_staff.c.user_id == user["id"]))).mappings().one()
    return _member_json(row), created is not None


async def remove_staff(db: Database, congress_id: str, user_id: str, caller: Principal, audit: Audit) -> dict[str, Any]:
    async with db.uow() as uow:
        congress_id = await ensure_congress_staff(uow.session, caller, congress_id)
        row = (await uow.session.execute(
            _members_query(congress_id).where(congress_staff.c.user_id == user_id))).mappings().first()
        if row is None:
            raise NotFound("not_found", "Not found.")
        await uow.session.execute(delete(congress_staff).where(
            congress_staff.c.congress_id == congress_id, congress_staff.c.user_id == user_id))
        await uow.emit(events.StaffRemoved(user_id=uuid.UUID(user_id), username=row["username"],
                                           congress_id=uuid.UUID(congress_id), actor=caller.id))
        await audit(uow, "staff.removed", target=f"user:{user_id}", congress_id=congress_id, username=row["username"])
    return _member_json(row)
