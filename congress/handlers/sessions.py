"""Sessions: log in, refresh the access token, step up (re-enter the password), log out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select

from congress import model
from congress.db import sessions, users
from congress.handlers.accounts import password_matches
from congress.handlers.common import AuditAs, revoke, shared_kv, user_json
from congress.handlers.keys import current_key
from congress.tokens import Signer
from runtime import ratelimit
from runtime.auth import Principal
from runtime.db import utcnow
from runtime.errors import Unauthorized
from runtime.service import ServiceRuntime


@dataclass(frozen=True)
class Issued:
    access_token: str
    expires_in: int
    user: dict[str, Any]
    refresh_secret: str | None = None  # only when a session starts
    csrf_token: str | None = None


@dataclass(frozen=True)
class Client:
    ip: str
    user_agent: str


def signer_of(runtime: ServiceRuntime) -> Signer:
    return runtime.extras["signer"]


async def _issue(runtime: ServiceRuntime, session: Any, user: RowMapping, session_id: str, auth_time: datetime) -> str:
    key = await current_key(session)
    subject = model.TokenSubject(user["id"], user["username"], user["full_name"], list(user["roles"]))
    claims = model.access_claims(subject, session_id, auth_time, utcnow())
    return signer_of(runtime).sign(claims, key["kid"], key["private_key_encrypted"])


def _principal(user: RowMapping, session_id: str = "") -> Principal:
    return Principal(id=user["id"], username=user["username"], full_name=user["full_name"],
                     roles=frozenset(user["roles"]), auth_time=0, session_id=session_id)


async def _refuse_when_limited(runtime: ServiceRuntime, key: str) -> None:
    if not await ratelimit.check(runtime.js, key, model.LOGIN_FAILURES_ALLOWED, model.LOGIN_WINDOW_SECONDS):
        raise ratelimit.too_many(model.LOGIN_WINDOW_SECONDS)


async def log_in(runtime: ServiceRuntime, username: str, password: str, client: Client, audit: AuditAs) -> Issued:
    """10 wrong passwords per 15 minutes per (username, IP), counted across replicas in KV."""
    name = model.normalise_username(username)
    await shared_kv(runtime)  # 503 before anything if NATS is not up
    limit_key = model.login_limit_key("login", name, client.ip)
    await _refuse_when_limited(runtime, limit_key)
    async with runtime.db.session() as session:
        user = (await session.execute(select(users).where(users.c.username == name))).mappings().first()
    ok = await password_matches(user["password_hash"] if user else None, password)
    if not ok or user is None or not user["active"]:
        await ratelimit.hit(runtime.js, limit_key, model.LOGIN_FAILURES_ALLOWED, model.LOGIN_WINDOW_SECONDS)
        async with runtime.db.uow() as uow:
            await audit(uow, None, "auth.login_failed", target=f"user:{user['id']}" if user else "", username=name[:100],
                        reason="inactive" if ok and user is not None else "wrong_credentials")
        raise Unauthorized("wrong_credentials", "Wrong username or password.")
    now = utcnow()
    session_id, refresh_secret = str(uuid.uuid4()), model.new_refresh_secret()
    async with runtime.db.uow() as uow:
        await uow.session.execute(sessions.insert().values(
            id=session_id, user_id=user["id"], created_at=now, authenticated_at=now, last_seen_at=now, ended_at=None,
            refresh_hash=model.refresh_hash(refresh_secret), ip=client.ip[:64], user_agent=client.user_agent[:300]))
        token = await _issue(runtime, uow.session, user, session_id, now)
        await audit(uow, _principal(user, session_id), "auth.login", target=f"user:{user['id']}")
    return Issued(token, model.ACCESS_TOKEN_SECONDS, user_json(user), refresh_secret, model.new_csrf_token())


async def refresh_session(runtime: ServiceRuntime, refresh_secret: str) -> Issued:
    """A fresh access token for a live session (auth_time unchanged): pages call it when theirs expired."""
    now = utcnow()
    async with runtime.db.uow() as uow:
        row = (await uow.session.execute(
            select(sessions).where(sessions.c.refresh_hash == model.refresh_hash(refresh_secret))
        )).mappings().first()
        if row is None or not model.refresh_still_valid(row["created_at"], row["ended_at"], now):
            raise Unauthorized("session_ended", "Please log in.")
        user = (await uow.session.execute(select(users).where(users.c.id == row["user_id"]))).mappings().first()
        if user is None or not user["active"]:
            raise Unauthorized("session_ended", "Please log in.")
        await uow.session.execute(sessions.update().where(sessions.c.id == row["id"]).values(last_seen_at=now))
        token = await _issue(runtime, uow.session, user, row["id"], row["authenticated_at"])
    return Issued(token, model.ACCESS_TOKEN_SECONDS, user_json(user))


async def reauthenticate(runtime: ServiceRuntime, caller: Principal, password: str, client: Client,
                         audit: AuditAs) -> Issued:
    """Step-up: the password again gives a token with auth_time = now, same session."""
    limit_key = model.login_limit_key("reauth", caller.id, client.ip)
    await shared_kv(runtime)
    await _refuse_when_limited(runtime, limit_key)
    async with runtime.db.session() as session:
        user = (await session.execute(select(users).where(users.c.id == caller.id))).mappings().first()
    if user is None or not user["active"] or not await password_matches(user["password_hash"], password):
        await ratelimit.hit(runtime.js, limit_key, model.LOGIN_FAILURES_ALLOWED, model.LOGIN_WINDOW_SECONDS)
        async with runtime.db.uow() as uow:
            await audit(uow, caller, "auth.reauth_failed", target=f"user:{caller.id}")
        raise Unauthorized("wrong_password", "Wrong password.")
    now = utcnow()
    async with runtime.db.uow() as uow:
        await uow.session.execute(sessions.update().where(sessions.c.id == caller.session_id).values(
            authenticated_at=now, last_seen_at=now))
        token = await _issue(runtime, uow.session, user, caller.session_id, now)
        await audit(uow, caller, "auth.reauth", target=f"user:{caller.id}")
    return Issued(token, model.ACCESS_TOKEN_SECONDS, user_json(user))


async def log_out(runtime: ServiceRuntime, caller: Principal, audit: AuditAs) -> None:
    """The session ends here (no refresh) and everywhere (its tokens are revoked in KV)."""
    kv = await shared_kv(runtime)
    async with runtime.db.uow() as uow:
        await uow.session.execute(sessions.update().where(
            sessions.c.id == caller.session_id, sessions.c.ended_at.is_(None)).values(ended_at=utcnow()))
        await audit(uow, caller, "auth.logout", target=f"user:{caller.id}")
    await revoke(kv, "sid", caller.session_id)
