"""Who may touch which congress, as seen by a service other than congress.

The documents and signing services keep their own copy of staff accounts and of congress
staff membership, built from `congress.user.*` and `congress.staff.*` events, and apply the
rule from it: an admin reaches every congress; anyone else only the congresses they are
staff of. Another congress's resource answers 404, so its existence is not leaked.

Both copies follow runtime/projection.py: the newest event of an account or a membership wins,
whatever order replicas apply them in. A removed membership stays as a tombstone (`removed`),
so every reader of `staff` goes through `congress_ids_of` or `is_staff`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, BigInteger, Boolean, Column, MetaData, Select, String, Table, false, select
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
from runtime.auth import Principal
from runtime.db import UnitOfWork, UTCDateTime
from runtime.errors import NotFound
from runtime.projection import apply_newer, remove


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
            # the position of the last "created"/"updated" (name, roles) and of the last event of
            # any kind (active, updated_at): a late creation still fills a name a deactivation lacked
            Column("source_seq", BigInteger, nullable=True),
            Column("active_seq", BigInteger, nullable=True),
        )
        self.staff = Table(
            "congress_staff",
            metadata,
            Column("congress_id", String(36), primary_key=True),
            Column("user_id", String(36), primary_key=True),
            Column("removed", Boolean, nullable=False, default=False, server_default=false()),
            Column("source_seq", BigInteger, nullable=True),
        )

    # -- event handlers (registered in each service's subscribers.py) --------------------
    # Each returns whether the event was the newest of its account or membership, so that an
    # effect of the newest state only (signing's certificates) can follow it.

    async def user_created(self, event: cc.UserCreated, uow: UnitOfWork) -> bool:
        """Keep a copy of the staff account."""
        return await self._set_user(uow, event, active=True)

    async def user_updated(self, event: cc.UserUpdated, uow: UnitOfWork) -> bool:
        """Keep the copy of the staff account current."""
        return await self._set_user(uow, event, active=event.active)

    async def user_deactivated(self, event: cc.UserDeactivated, uow: UnitOfWork) -> bool:
        """Drop a deactivated account's access (a later update may give it back)."""
        return await self._set_activity(uow, event, active=False)

    async def staff_added(self, event: cc.StaffAdded, uow: UnitOfWork) -> bool:
        """Record that a user works on a congress."""
        return await apply_newer(uow, self.staff, self._membership(event), {})

    async def staff_removed(self, event: cc.StaffRemoved, uow: UnitOfWork) -> bool:
        """Record that a user no longer works on a congress."""
        return await remove(uow, self.staff, self._membership(event))

    def handlers(self) -> dict:
        return {
            cc.UserCreated: self.user_created,
            cc.UserUpdated: self.user_updated,
            cc.UserDeactivated: self.user_deactivated,
            cc.StaffAdded: self.staff_added,
            cc.StaffRemoved: self.staff_removed,
        }

    async def _set_user(self, uow: UnitOfWork, event: cc.UserCreated | cc.UserUpdated, active: bool) -> bool:
        await apply_newer(uow, self.users, {"user_id": str(event.user_id)}, dict(
            username=event.username, full_name=event.full_name, roles=list(event.roles),
            organisation=event.organisation,
        ), placeholders={"active": active, "updated_at": event.occurred_at})
        return await self._set_activity(uow, event, active)

    async def _set_activity(self, uow: UnitOfWork, event: cc.UserCreated | cc.UserUpdated | cc.UserDeactivated,
                            active: bool) -> bool:
        """Every event of an account states whether it is active: True when this one is the newest."""
        return await apply_newer(
            uow, self.users, {"user_id": str(event.user_id)}, {"active": active, "updated_at": event.occurred_at},
            position="active_seq",
            # applied before the account's creation: what the creation fills in when it arrives
            placeholders={"username": event.username, "full_name": event.username, "roles": [], "organisation": ""},
        )

    @staticmethod
    def _membership(event: cc.StaffAdded | cc.StaffRemoved) -> dict[str, str]:
        return {"congress_id": str(event.congress_id), "user_id": str(event.user_id)}

    # -- the rule -----------------------------------------------------------------------

    async def is_staff(self, session: AsyncSession, user: Principal, congress_id: str | uuid.UUID) -> bool:
        if user.is_admin:
            return True
        found = await session.scalar(self.congress_ids_of(user.id).where(self.staff.c.congress_id == str(congress_id)))
        return found is not None

    async def ensure_staff(self, session: AsyncSession, user: Principal, congress_id: str | uuid.UUID) -> None:
        """Raise 404 unless the user is an admin or staff of this congress."""
        if not await self.is_staff(session, user, congress_id):
            raise NotFound("not_found", "Not found.")

    async def congresses_of(self, session: AsyncSession, user: Principal) -> list[str]:
        return list(await session.scalars(self.congress_ids_of(user.id)))

    def congress_ids_of(self, user_id: str) -> Select[tuple[str]]:
        """The congresses a user is staff of now (a removed membership is kept as a tombstone)."""
        return select(self.staff.c.congress_id).where(self.staff.c.user_id == user_id, self.staff.c.removed.is_(False))
