"""Signature requests: /api/signing/requests…"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from runtime.auth import CurrentUser, StaffRoute
from signing.api.deps import SigningDeps
from signing.handlers import requests as use_cases

router = APIRouter(prefix="/api/signing/requests", tags=["requests"], route_class=StaffRoute)


class SignerIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    role: Literal["approver", "signer"]


class RequestIn(BaseModel):
    document_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    version: int = Field(ge=1)
    signers: list[SignerIn] = Field(min_length=1)
    message: str = Field("", max_length=2000)
    due: datetime | None = None


class RejectIn(BaseModel):
    reason: str = Field(max_length=2000)


@router.post("", status_code=201)
async def create(body: RequestIn, user: CurrentUser, deps: SigningDeps, request: Request) -> Any:
    result, created = await use_cases.create_request(
        deps, user, request, document_id=body.document_id.lower(), version=body.version,
        signers=[(s.username, s.role) for s in body.signers], message=body.message, due=body.due,
    )
    return JSONResponse(result, status_code=201 if created else 200)


@router.get("")
async def list_(user: CurrentUser, deps: SigningDeps, mine: bool = False, congress_id: str | None = None,
                cursor: str | None = Query(None, max_length=40)) -> dict[str, Any]:
    return await use_cases.list_requests(deps, user, mine, congress_id, cursor)


@router.get("/{request_id}")
async def read(request_id: str, user: CurrentUser, deps: SigningDeps) -> dict[str, Any]:
    return await use_cases.get_request(deps, user, request_id)


@router.get("/{request_id}/document")
async def document(request_id: str, user: CurrentUser, deps: SigningDeps, request: Request) -> Response:
    """The revision the next signer signs (the final one once completed)."""
    data, sha256, _title = await use_cases.document_for(deps, user, request_id, request)
    return Response(data, media_type="application/pdf", headers={
        "ETag": f'"{sha256}"', "Cache-Control": "private, no-cache",
        "Content-Disposition": f'inline; filename="{sha256[:12]}.pdf"',
    })


@router.post("/{request_id}/sign")
async def sign(request_id: str, user: CurrentUser, deps: SigningDeps, request: Request) -> dict[str, Any]:
    return await use_cases.sign_request(deps, user, request_id, request)


@router.post("/{request_id}/reject")
async def reject(request_id: str, body: RejectIn, user: CurrentUser, deps: SigningDeps,
                 request: Request) -> dict[str, Any]:
    return await use_cases.reject_request(deps, user, request_id, body.reason, request)


@router.post("/{request_id}/cancel")
async def cancel(request_id: str, user: CurrentUser, deps: SigningDeps, request: Request) -> dict[str, Any]:
    return await use_cases.cancel_request(deps, user, request_id, request)
