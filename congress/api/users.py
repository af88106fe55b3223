"""/api/users: staff accounts, administered by an admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from congress.api.deps import AdminUser, Runtime, audit_for
from congress.handlers import accounts
from congress.handlers.common import user_json
from runtime.auth import StaffRoute

router = APIRouter(prefix="/api/users", tags=["users"], route_class=StaffRoute)


class UserIn(BaseModel):
    username: str
    password: str
    full_name: str
    roles: list[str]
    email: str = ""
    organisation: str = ""


class UserPatch(BaseModel):
    full_name: str | None = None
    email: str | None = None
    organisation: str | None = None
    roles: list[str] | None = None


class PasswordIn(BaseModel):
    password: str


@router.post("", status_code=201)
async def create_user(body: UserIn, admin: AdminUser, request: Request, runtime: Runtime) -> JSONResponse:
    user = await accounts.create_user(runtime.db, accounts.NewUser(**body.model_dump()), admin,
                                      audit_for(request, admin))
    return JSONResponse(user, status_code=201)


@router.get("")
async def list_users(admin: AdminUser, runtime: Runtime, cursor: str | None = None,
                     limit: int = Query(100, ge=1, le=500)) -> dict[str, Any]:
    return await accounts.list_users(runtime.db, cursor, limit)


@router.get("/{user_id}")
async def get_user(user_id: str, admin: AdminUser, runtime: Runtime) -> dict[str, Any]:
    async with runtime.db.session() as session:
        return user_json(await accounts.find_user(session, user_id))


@router.patch("/{user_id}")
async def update_user(user_id: str, body: UserPatch, admin: AdminUser, request: Request,
                      runtime: Runtime) -> dict[str, Any]:
    changes = accounts.UserChanges(**body.model_dump())
    return await accounts.update_user(runtime.db, user_id, changes, admin, audit_for(request, admin))


@router.post("/{user_id}/deactivate")
async def deactivate_user(user_id: str, admin: AdminUser, request: Request, runtime: Runtime) -> dict[str, Any]:
    return await accounts.deactivate_user(runtime, user_id, admin, audit_for(request, admin))


@router.post("/{user_id}/reactivate")
async def reactivate_user(user_id: str, admin: AdminUser, request: Request, runtime: Runtime) -> dict[str, Any]:
    return await accounts.reactivate_user(runtime.db, user_id, admin, audit_for(request, admin))


@router.post("/{user_id}/reset-password")
async def reset_password(user_id: str, body: PasswordIn, admin: AdminUser, request: Request,
                         runtime: Runtime) -> dict[str, Any]:
    return await accounts.reset_password(runtime, user_id, body.password, admin, audit_for(request, admin))
