"""Documents API: upload, versions, list, read, download, approve.

Uploads are parsed from the raw request stream (runtime/uploads.py), never through FastAPI's
form parsing, which would spool the whole body before any check. Downloads hand the bytes to
Caddy (X-Accel-Redirect to the verified blob cache) or, with ACCEL_REDIRECT=false, stream them
from the service with Range support.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from documents import model
from documents.handlers import Deps
from documents.handlers.approve_document import approve_document
from documents.handlers.read_documents import file_to_download, get_document, list_documents
from documents.handlers.upload_document import add_version, upload_document
from runtime.auth import CSRF_HEADER, SESSION_COOKIE, CurrentUser, Principal, StaffRoute, require_roles
from runtime.blobs import BlobNotFound
from runtime.errors import ApiError, Unavailable
from runtime.uploads import ReceivedForm, receive_multipart

router = APIRouter(tags=["documents"], route_class=StaffRoute)

IMMUTABLE = "private, max-age=31536000, immutable"
REVALIDATE = "private, no-cache"

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file", "congress_id", "title", "kind"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "PDF, or MP4 for kind=video"},
                "congress_id": {"type": "string", "format": "uuid"},
                "title": {"type": "string", "maxLength": 500},
                "kind": {"type": "string", "enum": list(model.KINDS)},
                "agenda_item_id": {"type": "string", "format": "uuid"},
            },
        }}},
    }
}
VERSION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        }}},
    }
}


def deps_of(request: Request) -> Deps:
    return request.app.state.runtime.extras["deps"]


async def csrf_header_before_body(request: Request) -> None:
    """A cookie-authenticated upload must carry the CSRF header: the form-field fallback would
    make the CSRF check parse (and spool) the whole body before the limits apply."""
    if (not request.headers.get("authorization") and request.cookies.get(SESSION_COOKIE)
            and not request.headers.get(CSRF_HEADER)):
        raise ApiError("csrf_failed",
                       "The security token of the form is missing or wrong. Reload the page and try again.",
                       status=403)


Secretary = Annotated[Principal, Depends(require_roles("secretary"))]
UploadGuard = Depends(csrf_header_before_body)


async def _receive(request: Request, deps: Deps) -> ReceivedForm:
    return await receive_multipart(
        request.stream(), request.headers.get("content-type"), request.headers.get("content-length"),
        deps.upload_limits, deps.settings.upload_tmp_dir,
    )


@router.post("/api/documents", status_code=201, dependencies=[UploadGuard], openapi_extra=UPLOAD_BODY)
async def upload(request: Request, user: Secretary) -> JSONResponse:
    """Upload a new document (its version 1, a draft)."""
    deps = deps_of(request)
    form = await _receive(request, deps)
    try:
        view = await upload_document(deps, user, form)
    finally:
        form.discard()
    return JSONResponse(view, status_code=201)


@router.post("/api/documents/{document_id}/versions", status_code=201, dependencies=[UploadGuard],
             openapi_extra=VERSION_BODY)
async def upload_version(request: Request, document_id: str, user: Secretary) -> JSONResponse:
    """Add a version; the same bytes as the latest version again answer 200 with that version."""
    deps = deps_of(request)
    form = await _receive(request, deps)
    try:
        view, created = await add_version(deps, user, document_id, form)
    finally:
        form.discard()
    return JSONResponse(view, status_code=201 if created else 200)


@router.get("/api/documents")
async def index(request: Request, user: CurrentUser, congress_id: str,
                cursor: str | None = None, limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    """The congress's documents, oldest first: {"items": [...], "next": cursor or null}."""
    return await list_documents(deps_of(request), user, congress_id, cursor, limit)


@router.get("/api/documents/{document_id}")
async def show(request: Request, document_id: str, user: CurrentUser) -> dict[str, Any]:
    """A document with all its versions (sha256, status, size, pages, signed, approval)."""
    return await get_document(deps_of(request), user, document_id)


@router.post("/api/documents/{document_id}/approve")
async def approve(request: Request, document_id: str, user: Secretary) -> dict[str, Any]:
    """Approve the latest version of a video or reference document without signatures."""
    view, _changed = await approve_document(deps_of(request), user, document_id)
    return view


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


@router.get("/api/documents/{document_id}/file")
@router.head("/api/documents/{document_id}/file", include_in_schema=False)  # the same, without the bytes
async def download(request: Request, document_id: str, user: CurrentUser,
                   version: int | None = Query(None, ge=1)) -> Response:
    """The bytes of a version (the latest approved one when no version is given)."""
    deps = deps_of(request)
    found = await file_to_download(deps, user, document_id, version)
    etag = f'"{found.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if found.fixed_version else REVALIDATE,
        "Content-Disposition": model.content_disposition(found.file_name),
    }
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    try:
        path = await deps.blobs.get_to_cache(found.sha256)
    except BlobNotFound as exc:
        raise Unavailable("blob_unavailable", "The file is temporarily unavailable. Please try again in a moment.",
                          headers={"Retry-After": "5"}) from exc
    if deps.settings.accel_redirect:
        # Caddy serves the cached file itself (Range, HEAD, conditional requests) with these headers.
        return Response(status_code=200, media_type=found.content_type,
                        headers={**headers, "X-Accel-Redirect": f"/_blobs/{found.sha256}"})
    return FileResponse(path, media_type=found.content_type, headers=headers, stat_result=os.stat(path))
