"""Who may touch which congress, as seen by a service other than congress.

The documents and signing services keep their own copy of staff accounts and of congress
staff membership, built from `congress.user.*` and `congress.staff.*` events, and apply the
rule from it: an admin reaches every congress; anyone else only the congresses they are
staff of. Another congress's resource answers 404, so its existence is not leaked.
"""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, Boolean, Column, MetaData, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
from runtime.auth import Principal
from runtime.db import UnitOfWork, UTCDateTime
from runtime.errors import NotFound


class AccessTables:
    def __init__(self, metadata: MetaData) -> None:
        self.users = Table(
            "staff_users",
            metadata,
            Column("user_id", String(36), primary_key=True),
            Column("username", String(100), nullable=False, unique=True),
            Column("full_name", String(200), nullable=False),
            Column("organisation", String(200), nullable=False, default=""),
            Column("roles", JSON, nullable=False),
            Column("active", Boolean, nullable=False, default=True),
            Column("updated_at", UTCDateTime, nullable=False),
        )
        self.staff = Table(
            "congress_staff",
            metadata,
            Column("congress_id", String(36), primary_key=True),
            Column("user_id", String(36), primary_key=True),
        )

    # -- event handlers (registered in each service's subscribers.py) --------------------

    async def user_created(self, event: cc.UserCreated, uow: UnitOfWork) -> None:
        """Keep a copy of the staff account."""
        await self._upsert_user(uow, event.user_id, event.username, event.full_name, event.roles, True,
                                event.organisation, event)

    async def user_updated(self, event: cc.UserUpdated, uow: UnitOfWork) -> None:
        """Keep the copy of the staff account current."""
        await self._upsert_user(uow, event.user_id, event.username, event.full_name, event.roles, event.active,
                                event.organisation, event)

    async def user_deactivated(self, event: cc.UserDeactivated, uow: UnitOfWork) -> None:
        """Drop a deactivated account's access."""
        await uow.session.execute(
            self.users.update().where(self.users.c.user_id == str(event.user_id)).values(
                active=False, updated_at=event.occurred_at
            )
        )

    async def staff_added(self, event: cc.StaffAdded, uow: UnitOfWork) -> None:
        """Record that a user works on a congress."""
        exists = await uow.session.scalar(
            select(self.staff.c.user_id).where(
                self.staff.c.congress_id == str(event.congress_id), self.staff.c.user_id == str(event.user_id)
            )
        )
        if not exists:
            await uow.session.execute(
                self.staff.insert().values(congress_id=str(event.congress_id), user_id=str(event.user_id))
            )

    async def staff_removed(self, event: cc.StaffRemoved, uow: UnitOfWork) -> None:
        """Record that a user no longer works on a congress."""
        await uow.session.execute(
            delete(self.staff).where(
                self.staff.c.congress_id == str(event.congress_id), self.staff.c.user_id == str(event.user_id)
            )
        )

    def handlers(self) -> dict:
        return {
            cc.UserCreated: self.user_created,
            cc.UserUpdated: self.user_updated,
            cc.UserDeactivated: self.user_deactivated,
            cc.StaffAdded: self.staff_added,
            cc.StaffRemoved: self.staff_removed,
        }

    async def _upsert_user(self, uow: UnitOfWork, user_id: uuid.UUID, username: str, full_name: str,
                           roles: list[str], active: bool, organisation: str, event: cc.UserCreated | cc.UserUpdated) -> None:
        values = dict(username=username, full_name=full_name, roles=list(roles), active=active,
                      organisation=organisation, updated_at=event.occurred_at)
        found = await uow.session.scalar(select(self.users.c.user_id).where(self.users.c.user_id == str(user_id)))
        if found:
            await uow.session.execute(self.users.update().where(self.users.c.user_id == str(user_id)).values(**values))
        else:
            await uow.session.execute(self.users.insert().values(user_id=str(user_id), **values))

    # -- the rule -----------------------------------------------------------------------

    async def is_staff(self, session: AsyncSession, user: Principal, congress_id: str | uuid.UUID) -> bool:
        if user.is_admin:
            return True
        found = await session.scalar(
            select(self.staff.c.user_id).where(
                self.staff.c.congress_id == str(congress_id), self.staff.c.user_id == user.id
            )
        )
        return found is not None

    async def ensure_staff(self, session: AsyncSession, user: Principal, congress_id: str | uuid.UUID) -> None:
        """Raise 404 unless the user is an admin or staff of this congress."""
        if not await self.is_staff(session, user, congress_id):
            raise NotFound("not_found", "Not found.")

    async def congresses_of(self, session: AsyncSession, user: Principal) -> list[str]:
        rows = await session.scalars(select(self.staff.c.congress_id).where(self.staff.c.user_id == user.id))
        return list(rows)
