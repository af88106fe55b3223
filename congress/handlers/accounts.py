"""Staff accounts: the first admin, create, edit, deactivate, reset a password, change one's own."""

from __future__ import annotations

import asyncio
import functools
import secrets
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import RowMapping, func, select
from sqlalchemy.exc import IntegrityError

import contracts.congress as events
from congress import model
from congress.db import sessions, users
from congress.handlers.common import Audit, revoke, shared_kv, user_json
from runtime.auth import Principal
from runtime.db import Database, UnitOfWork, utcnow
from runtime.errors import Conflict, Invalid, NotFound
from runtime.service import ServiceRuntime

log = structlog.get_logger()

HASHER = PasswordHasher()  # argon2id with the library's defaults (about 50 ms here)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


@functools.cache
def _unknown_user_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


async def password_matches(password_hash: str | None, password: str) -> bool:
    """Also spends the time of a real check for an unknown user, so timing does not tell who exists."""

    def verify() -> bool:
        try:
            return HASHER.verify(password_hash or _unknown_user_hash(), password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


# -- reading --------------------------------------------------------------------------


async def find_user(session: Any, user_id: str) -> RowMapping:
    try:
        uuid.UUID(user_id)
    except ValueError:
        raise NotFound("not_found", "Not found.") from None
    row = (await session.execute(select(users).where(users.c.id == user_id))).mappings().first()
    if row is None:
        raise NotFound("not_found", "Not found.")
    return row


async def list_users(db: Database, after: str | None, limit: int) -> dict[str, Any]:
    query = select(users).order_by(users.c.username).limit(limit + 1)
    if after:
        query = query.where(users.c.username > after)
    async with db.session() as session:
        rows = (await session.execute(query)).mappings().all()
    page = rows[:limit]
    return {"items": [user_json(r) for r in page], "next": page[-1]["username"] if len(rows) > limit else None}


# -- writing --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    username: str
    password: str
    full_name: str
    roles: list[str]
    email: str = ""
    organisation: str = ""


def _created_event(row: dict[str, Any], actor: str | None) -> events.UserCreated:
    return events.UserCreated(user_id=uuid.UUID(row["id"]), username=row["username"], full_name=row["full_name"],
                              roles=row["roles"], organisation=row["organisation"], actor=actor)


async def create_user(db: Database, command: NewUser, actor: Principal, audit: Audit) -> dict[str, Any]:
    username = model.validate_username(command.username)
    model.validate_password(command.password)
    now = utcnow()
    row = {
        "id": str(uuid.uuid4()),
        "username": username,
        "full_name": model.validate_full_name(command.full_name),
        "email": model.validate_email(command.email),
        "organisation": model.nfc(command.organisation),
        "roles": model.validate_roles(command.roles),
        "password_hash": await hash_password(command.password),
        "active": True,
        "created_at": now,
        "updated_at": now,
        "password_changed_at": now,
    }
    try:
        async with db.uow() as uow:
            taken = await uow.session.scalar(select(users.c.id).where(users.c.username == username))
            if taken:
                raise Conflict("username_taken", "This username is already taken.")
            await uow.session.execute(users.insert().values(**row))
            await uow.emit(_created_event(row, actor.id))
            await audit(uow, "user.created", target=f"user:{row['id']}", username=username, roles=",".join(row["roles"]))
    except IntegrityError:  # another replica inserted the same name between our check and insert
        raise Conflict("username_taken", "This username is already taken.") from None
    return user_json(row)


@dataclass(frozen=True)
class UserChanges:
    full_name: str | None = None
    email: str | None = None
    organisation: str | None = None
    roles: list[str] | None = None


async def update_user(db: Database, user_id: str, changes: UserChanges, actor: Principal, audit: Audit) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if changes.full_name is not None:
        values["full_name"] = model.validate_full_name(changes.full_name)
    if changes.email is not None:
        values["email"] = model.validate_email(changes.email)
    if changes.organisation is not None:
        values["organisation"] = model.nfc(changes.organisation)
    if changes.roles is not None:
        values["roles"] = model.validate_roles(changes.roles)
    async with db.uow() as uow:
        current = await find_user(uow.session, user_id)
        if "roles" in values:
            model.ensure_an_admin_remains(await _active_admin_ids(uow), user_id, "admin" in values["roles"],
                                          current["active"])
        changed = {k: v for k, v in values.items() if current[k] != v}
        if not changed:
            return user_json(current)  # nothing to say: no event, no audit line
        changed["updated_at"] = utcnow()
        await uow.session.execute(users.update().where(users.c.id == user_id).values(**changed))
        row = {**current, **changed}
        await uow.emit(_updated_event(row, actor))
        await audit(uow, "user.updated", target=f"user:{user_id}", username=row["username"],
                    fields=",".join(sorted(k for k in changed if k != "updated_at")))
    return user_json(row)


def _updated_event(row: dict[str, Any], actor: Principal) -> events.UserUpdated:
    return events.UserUpdated(user_id=uuid.UUID(row["id"]), username=row["username"], full_name=row["full_name"],
                              roles=row["roles"], active=row["active"], organisation=row["organisation"],
                              actor=actor.id)


async def reactivate_user(db: Database, user_id: str, actor: Principal, audit: Audit) -> dict[str, Any]:
    """Gives a deactivated account its access back: the user logs in again (the sessions and
    tokens the deactivation ended stay ended). Idempotent: an active account is answered as it
    is, with no event."""
    async with db.uow() as uow:
        current = await find_user(uow.session, user_id)
        if current["active"]:
            return user_json(current)
        now = utcnow()
        await uow.session.execute(users.update().where(users.c.id == user_id).values(active=True, updated_at=now))
        row = {**current, "active": True, "updated_at": now}
        await uow.emit(_updated_event(row, actor))  # the other services' copies take it back too
        await audit(uow, "user.reactivated", target=f"user:{user_id}", username=row["username"])
    return user_json(row)


async def deactivate_user(runtime: ServiceRuntime, user_id: str, actor: Principal, audit: Audit) -> dict[str, Any]:
    """Idempotent: a second call answers with the same (inactive) user and changes nothing."""
    kv = await shared_kv(runtime)
    async with runtime.db.uow() as uow:
        current = await find_user(uow.session, user_id)
        if not current["active"]:
            return user_json(current)
        model.ensure_an_admin_remains(await _active_admin_ids(uow), user_id, "admin" in current["roles"], False)
        now = utcnow()
        await uow.session.execute(users.update().where(users.c.id == user_id).values(active=False, updated_at=now))
        await _end_sessions(uow, user_id, now)
        await uow.emit(events.UserDeactivated(user_id=uuid.UUID(user_id), username=current["username"], actor=actor.id))
        await audit(uow, "user.deactivated", target=f"user:{user_id}", username=current["username"])
    await revoke(kv, "user", user_id, repr(time.time()))
    return user_json({**current, "active": False, "updated_at": now})


async def reset_password(runtime: ServiceRuntime, user_id: str, password: str, actor: Principal,
                         audit: Audit) -> dict[str, Any]:
    """An admin sets a new password: every session of that user ends, everywhere."""
    model.validate_password(password)
    kv = await shared_kv(runtime)
    password_hash = await hash_password(password)
    async with runtime.db.uow() as uow:
        current = await find_user(uow.session, user_id)
        now = utcnow()
        await uow.session.execute(users.update().where(users.c.id == user_id).values(
            password_hash=password_hash, password_changed_at=now, updated_at=now))
        await _end_sessions(uow, user_id, now)
        await audit(uow, "user.password_reset", target=f"user:{user_id}", username=current["username"])
    await revoke(kv, "user", user_id, repr(time.time()))
    return user_json({**current, "password_changed_at": now, "updated_at": now})


async def change_own_password(runtime: ServiceRuntime, caller: Principal, old: str, new: str, audit: Audit) -> None:
    """The caller's other sessions end; the one they are using goes on."""
    model.validate_password(new)
    kv = await shared_kv(runtime)
    async with runtime.db.session() as session:
        current = await find_user(session, caller.id)
    if not await password_matches(current["password_hash"], old):
        raise Invalid("wrong_password", "The current password is wrong.")
    password_hash = await hash_password(new)
    async with runtime.db.uow() as uow:
        now = utcnow()
        await uow.session.execute(users.update().where(users.c.id == caller.id).values(
            password_hash=password_hash, password_changed_at=now, updated_at=now))
        ended = await _end_sessions(uow, caller.id, now, keep=caller.session_id)
        await audit(uow, "user.password_changed", target=f"user:{caller.id}", other_sessions_ended=len(ended))
    for sid in ended:
        await revoke(kv, "sid", sid)


async def _end_sessions(uow: UnitOfWork, user_id: str, now: Any, keep: str | None = None) -> list[str]:
    query = select(sessions.c.id).where(sessions.c.user_id == user_id, sessions.c.ended_at.is_(None))
    if keep:
        query = query.where(sessions.c.id != keep)
    ids = list(await uow.session.scalars(query))
    if ids:
        await uow.session.execute(sessions.update().where(sessions.c.id.in_(ids)).values(ended_at=now))
    return ids


async def _active_admin_ids(uow: UnitOfWork) -> list[str]:
    rows = (await uow.session.execute(select(users.c.id, users.c.roles).where(users.c.active.is_(True)))).all()
    return [r.id for r in rows if "admin" in r.roles]


# -- first start ----------------------------------------------------------------------


async def ensure_first_admin(db: Database, username: str, password: str) -> None:
    """With no user at all, create the admin: from ADMIN_USERNAME/ADMIN_PASSWORD, or with a
    generated password printed once on stderr (never through the structured log)."""
    async with db.session() as session:
        if await session.scalar(select(func.count()).select_from(users)):
            return
    generated = not password
    if generated:
        password = secrets.token_urlsafe(12)
    try:
        model.validate_password(password)
    except Invalid:
        raise SystemExit(f"ADMIN_PASSWORD must have at least {model.PASSWORD_MIN_LENGTH} characters") from None
    name = model.validate_username(username or "admin")
    now = utcnow()
    row = {"id": str(uuid.uuid4()), "username": name, "full_name": "Quản trị viên", "email": "", "organisation": "",
           "roles": ["admin"], "password_hash": await hash_password(password), "active": True, "created_at": now,
           "updated_at": now, "password_changed_at": now}
    try:
        async with db.uow() as uow:
            if await uow.session.scalar(select(func.count()).select_from(users)):
                return  # another replica was first
            await uow.session.execute(users.insert().values(**row))
            await uow.emit(_created_event(row, None))
    except IntegrityError:
        return  # another replica was first (PostgreSQL)
    log.info("auth.first_admin_created", username=name, generated_password=generated)
    if generated:
        bar = "=" * 64
        print(f"\n{bar}\n  First administrator account (shown once, write it down now)\n"
              f"  username: {name}\n  password: {password}\n"
              f"  Change it after logging in: POST /api/auth/password\n{bar}\n", file=sys.stderr, flush=True)
