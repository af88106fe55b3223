"""/api/auth: log in, refresh, step-up, log out, own password, who am I, key rotation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from congress import model
from congress.api.deps import AdminUser, Runtime, audit_as, audit_for
from congress.handlers import accounts, keys, sessions
from congress.handlers.common import shared_kv
from runtime.audit import client_ip
from runtime.auth import CSRF_COOKIE, SESSION_COOKIE, CurrentUser, StaffRoute, check_csrf
from runtime.errors import Unauthorized

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=StaffRoute)

REFRESH_COOKIE = "refresh"
REFRESH_PATH = "/api/auth"


class LoginIn(BaseModel):
    username: str
    password: str


class PasswordIn(BaseModel):
    password: str


class PasswordChangeIn(BaseModel):
    old_password: str
    new_password: str


def _client(request: Request) -> sessions.Client:
    return sessions.Client(client_ip(request), request.headers.get("user-agent", ""))


def _secure(request: Request) -> bool:
    # uvicorn's --proxy-headers has already applied the trusted proxy's X-Forwarded-Proto.
    return request.url.scheme == "https"


def _token_body(issued: sessions.Issued) -> dict[str, Any]:
    return {"access_token": issued.access_token, "token_type": "bearer", "expires_in": issued.expires_in,
            "user": issued.user}


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=model.ACCESS_TOKEN_SECONDS, path="/", httponly=True,
                        samesite="lax", secure=_secure(request))


@router.post("/login")
async def login(body: LoginIn, request: Request, response: Response, runtime: Runtime) -> dict[str, Any]:
    issued = await sessions.log_in(runtime, body.username, body.password, _client(request), audit_as(request))
    secure = _secure(request)
    _set_session_cookie(request, response, issued.access_token)
    response.set_cookie(REFRESH_COOKIE, issued.refresh_secret or "", max_age=model.REFRESH_SECONDS, path=REFRESH_PATH,
                        httponly=True, samesite="strict", secure=secure)
    response.set_cookie(CSRF_COOKIE, issued.csrf_token or "", max_age=model.REFRESH_SECONDS, path="/",
                        httponly=False, samesite="strict", secure=secure)
    return _token_body(issued)


@router.post("/refresh")
async def refresh(request: Request, response: Response, runtime: Runtime) -> dict[str, Any]:
    """Rides the refresh cookie, so it needs the CSRF token like any cookie-borne unsafe request."""
    secret = request.cookies.get(REFRESH_COOKIE)
    if not secret:
        raise Unauthorized("not_authenticated", "Please log in.")
    await check_csrf(request)
    issued = await sessions.refresh_session(runtime, secret)
    _set_session_cookie(request, response, issued.access_token)
    return _token_body(issued)


@router.post("/reauth")
async def reauth(body: PasswordIn, user: CurrentUser, request: Request, response: Response,
                 runtime: Runtime) -> dict[str, Any]:
    issued = await sessions.reauthenticate(runtime, user, body.password, _client(request), audit_as(request))
    if user.via_cookie:
        _set_session_cookie(request, response, issued.access_token)
    return _token_body(issued)


@router.post("/logout")
async def logout(user: CurrentUser, request: Request, response: Response, runtime: Runtime) -> dict[str, Any]:
    await sessions.log_out(runtime, user, audit_as(request))
    for name, path in ((SESSION_COOKIE, "/"), (REFRESH_COOKIE, REFRESH_PATH), (CSRF_COOKIE, "/")):
        response.delete_cookie(name, path=path)
    return {"logged_out": True}


@router.post("/password")
async def change_password(body: PasswordChangeIn, user: CurrentUser, request: Request,
                          runtime: Runtime) -> dict[str, Any]:
    await accounts.change_own_password(runtime, user, body.old_password, body.new_password, audit_for(request, user))
    return {"changed": True}


@router.get("/me")
async def me(user: CurrentUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "full_name": user.full_name, "roles": sorted(user.roles),
            "auth_time": user.auth_time, "session_id": user.session_id}


@router.post("/keys/rotate")
async def rotate_keys(user: AdminUser, request: Request, runtime: Runtime) -> dict[str, Any]:
    kv = await shared_kv(runtime)
    recorder = audit_for(request, user)

    async def audit(uow: Any, kid: str) -> None:
        await recorder(uow, "auth.keys_rotated", target=f"key:{kid}")

    kid = await keys.rotate_keys(runtime.db, kv, runtime.settings.secret_key, audit, runtime.auth)
    return {"kid": kid}
