"""Archive API: search, records, their files and packages, verification, import, trusted CAs.

Reading and verifying is for archivists (and admins); registering a trusted CA is for admins.
No endpoint deletes or replaces a sealed record.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from documents import model
from documents.api.documents import IMMUTABLE, _matches, csrf_header_before_body, deps_of
from documents.handlers import archive_records as use_cases
from runtime.auth import Principal, StaffRoute, require_roles
from runtime.errors import Invalid
from runtime.uploads import UploadLimits, receive_multipart

router = APIRouter(prefix="/api/archive", tags=["archive"], route_class=StaffRoute)

Archivist = Annotated[Principal, Depends(require_roles("archivist"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
KINDS = ("congress", *model.KINDS)


class TrustedCaBody(BaseModel):
    pem: str = Field(max_length=64 * 1024)


@router.get("/records")
async def search(request: Request, user: Archivist, q: str = Query("", max_length=500), unit: str | None = None,
                 year: int | None = Query(None, ge=1900, le=2200), kind: str | None = None,
                 cursor: str | None = None, limit: int = Query(20, ge=1, le=100)) -> dict[str, Any]:
    """Ranked search (diacritics-insensitive) with a <mark> snippet per hit: {"items", "next"}."""
    if kind and kind not in KINDS:
        raise Invalid("invalid_kind", "Unknown kind: {kind}.", kind=kind[:30])
    return await use_cases.search_records(deps_of(request), q, unit, year, kind, cursor, limit)


@router.get("/records/{congress_id}")
async def show(request: Request, congress_id: str, user: Archivist) -> dict[str, Any]:
    """A record: metadata, state, retention date, last fixity audit, and its file list."""
    return use_cases.record_view(await use_cases.load_record(deps_of(request), congress_id))


def _download(request: Request, path: Any, sha256: str, media_type: str, file_name: str) -> Response:
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Content-Disposition": model.content_disposition(file_name)}
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if deps_of(request).settings.accel_redirect:
        return Response(status_code=200, media_type=media_type,
                        headers={**headers, "X-Accel-Redirect": f"/_blobs/{sha256}"})
    return FileResponse(path, media_type=media_type, headers=headers, stat_result=os.stat(path))


@router.get("/records/{congress_id}/package")
@router.head("/records/{congress_id}/package", include_in_schema=False)  # the same, without the bytes
async def package(request: Request, congress_id: str, user: Archivist) -> Response:
    """The sealed package (zip), with ETag, Range and 304 like document downloads."""
    deps = deps_of(request)
    row = await use_cases.sealed_record(deps, congress_id)
    path = await use_cases.package_path(deps, row)
    return _download(request, path, row.package_sha256, "application/zip", f"ho-so-{row.record_id}.zip")


MEDIA = {".pdf": "application/pdf", ".mp4": "video/mp4", ".json": "application/json",
         ".jsonl": "application/x-ndjson", ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
         ".p7s": "application/pkcs7-signature", ".tst": "application/timestamp-reply"}


@router.get("/records/{congress_id}/files/{path:path}")
async def file(request: Request, congress_id: str, path: str, user: Archivist) -> Response:
    """One file of the sealed package, by its path in the package."""
    deps = deps_of(request)
    row = await use_cases.sealed_record(deps, congress_id)
    entry = use_cases.file_entry(row, path)
    media = MEDIA.get(os.path.splitext(path)[1], "application/octet-stream")
    name = path.rsplit("/", 1)[-1]
    if path.startswith(("data/documents/", "data/certificates/")) and not path.endswith(".txt"):
        try:  # signed documents and certificates are blobs themselves: served like any download
            cached = await deps.blobs.get_to_cache(entry["sha256"])
            return _download(request, cached, entry["sha256"], media, name)
        except Exception:  # noqa: BLE001 - not a blob here (an imported package's): read it from the zip
            pass
    etag = f'"{entry["sha256"]}"'
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag})
    data = use_cases.read_member(await use_cases.package_path(deps, row), path)
    disposition = "inline" if media.startswith(("text/", "application/json", "application/pdf")) else "attachment"
    return Response(data, media_type=media, headers={
        "ETag": etag, "Cache-Control": IMMUTABLE, "Content-Disposition": model.content_disposition(name, disposition),
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'", "X-Content-Type-Options": "nosniff"})


@router.post("/records/{congress_id}/verify")
async def verify(request: Request, congress_id: str, user: Archivist) -> dict[str, Any]:
    """Re-hash every file, check the chain, its head and the seal; names exactly what is wrong."""
    return await use_cases.verify(deps_of(request), congress_id)


@router.post("/import", status_code=201, dependencies=[Depends(csrf_header_before_body)])
async def import_package(request: Request, user: Archivist) -> JSONResponse:
    """A sealed package from another installation (multipart field `file`), verified against the
    registered CAs and filed read-only; the same package again answers 200."""
    deps = deps_of(request)
    limits = UploadLimits(types=(use_cases.zip_type(deps.settings.archive_max_import_bytes),))
    form = await receive_multipart(request.stream(), request.headers.get("content-type"),
                                   request.headers.get("content-length"), limits, deps.settings.upload_tmp_dir)
    try:
        if form.file is None:
            raise Invalid("file_required", "Choose a file to upload.")
        view, created = await use_cases.import_package(deps, user, form.file)
    finally:
        form.discard()
    return JSONResponse(view, status_code=201 if created else 200)


@router.get("/trusted-cas")
async def trusted_cas(request: Request, user: Admin) -> dict[str, Any]:
    return await use_cases.list_cas(deps_of(request))


@router.post("/trusted-cas", status_code=201)
async def add_trusted_ca(request: Request, body: TrustedCaBody, user: Admin) -> JSONResponse:
    """Trust packages sealed under this CA (PEM); the same CA again answers 200."""
    view, created = await use_cases.register_ca(deps_of(request), user, body.pem)
    return JSONResponse(view, status_code=201 if created else 200)
