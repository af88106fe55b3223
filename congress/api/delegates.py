"""HTTP → roster use cases: `/api/congresses/{id}/delegates…` and the badges PDF."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from congress.api.congress_deps import Links, Runtime, Secretary
from congress.domain.publications import content_disposition
from congress.handlers import delegates as use
from congress.render.badges import BadgeTexts, Card, render_badges
from runtime import audit, i18n
from runtime.auth import StaffRoute
from runtime.errors import Invalid, TooLarge
from runtime.pdf import MissingGlyphs
from runtime.service import language_of

router = APIRouter(prefix="/api/congresses/{congress_id}", tags=["delegates"], route_class=StaffRoute)

MAX_ROSTER_BYTES = 5 * 1024 * 1024


class DelegateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: str = Field(max_length=200)
    unit: str = Field("", max_length=300)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    delegate_type: str = Field("", max_length=100)


class DelegateChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: str | None = Field(None, max_length=200)
    unit: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    delegate_type: str | None = Field(None, max_length=100)


@router.post("/delegates/import")
async def import_roster(congress_id: str, user: Secretary, runtime: Runtime, links: Links, request: Request,
                        file: UploadFile = File(...), partial: bool = False) -> JSONResponse:
    """All or nothing unless `?partial=true`; the report lists every bad row with its number."""
    data = await file.read(MAX_ROSTER_BYTES + 1)
    if len(data) > MAX_ROSTER_BYTES:
        raise TooLarge("roster_too_large", "The roster file is larger than {limit} MB.", limit=MAX_ROSTER_BYTES // 2**20)
    async with runtime.db.uow() as uow:
        report = await use.import_roster(uow, user, links, congress_id, data, partial)
        if report.imported:
            await audit.record(uow, request, user, "delegates.imported", f"congress:{congress_id}", congress_id,
                               imported=report.imported, rejected=len(report.errors))
    language = language_of(request)
    body: dict[str, Any] = {
        "imported": report.imported,
        "rows": report.rows,
        "errors": [{"row": e.row, "code": e.code, "reason": i18n.gettext(e.reason, language, **e.params)}
                   for e in report.errors],
    }
    if report.errors and not partial:
        message = i18n.gettext("The file has errors; nothing was imported. Fix the rows listed, or import the valid "
                               "rows only with partial=true.", language)
        return JSONResponse({"error": {"code": "roster_has_errors", "message": message}, **body}, status_code=422)
    return JSONResponse(body, status_code=200)


@router.get("/delegates")
async def list_delegates(congress_id: str, user: Secretary, runtime: Runtime, links: Links, after: str | None = None,
                         limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    async with runtime.db.session() as session:
        return await use.list_delegates(session, user, links, congress_id, after, limit)


@router.post("/delegates", status_code=201)
async def add_delegate(congress_id: str, body: DelegateIn, user: Secretary, runtime: Runtime, links: Links,
                       request: Request) -> dict[str, Any]:
    async with runtime.db.uow() as uow:
        created = await use.add_delegate(uow, user, links, congress_id, body.model_dump())
        await audit.record(uow, request, user, "delegate.added", f"delegate:{created['id']}", congress_id)
        return created


@router.get("/delegates/{delegate_id}")
async def get_delegate(congress_id: str, delegate_id: str, user: Secretary, runtime: Runtime,
                       links: Links) -> dict[str, Any]:
    async with runtime.db.session() as session:
        return await use.get_delegate(session, user, links, congress_id, delegate_id)


@router.patch("/delegates/{delegate_id}")
async def edit_delegate(congress_id: str, delegate_id: str, body: DelegateChanges, user: Secretary, runtime: Runtime,
                        links: Links, request: Request) -> dict[str, Any]:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    async with runtime.db.uow() as uow:
        updated = await use.edit_delegate(uow, user, links, congress_id, delegate_id, changes)
        await audit.record(uow, request, user, "delegate.edited", f"delegate:{delegate_id}", congress_id,
                           fields=",".join(sorted(changes)))
        return updated


@router.delete("/delegates/{delegate_id}", status_code=204)
async def remove_delegate(congress_id: str, delegate_id: str, user: Secretary, runtime: Runtime,
                          request: Request) -> Response:
    async with runtime.db.uow() as uow:
        await use.remove_delegate(uow, user, congress_id, delegate_id)
        await audit.record(uow, request, user, "delegate.removed", f"delegate:{delegate_id}", congress_id)
    runtime.extras["scan_cache"].forget_delegates()
    return Response(status_code=204)


@router.post("/delegates/{delegate_id}/reissue")
async def reissue_secrets(congress_id: str, delegate_id: str, user: Secretary, runtime: Runtime, links: Links,
                          request: Request) -> dict[str, Any]:
    async with runtime.db.uow() as uow:
        reissued = await use.reissue_secrets(uow, user, links, congress_id, delegate_id)
        await audit.record(uow, request, user, "delegate.secrets_reissued", f"delegate:{delegate_id}", congress_id)
    runtime.extras["scan_cache"].forget_delegates()
    return reissued


@router.get("/badges.pdf")
async def badges(congress_id: str, user: Secretary, runtime: Runtime, links: Links, request: Request,
                 delegate_id: str | None = None) -> Response:
    """Badges (check-in QR) then personal slips (personal-link QR), A4, 10 per page."""
    async with runtime.db.session() as session:
        congress, rows = await use.roster_for_badges(session, user, congress_id, delegate_id)
    language = language_of(request)
    texts = BadgeTexts(
        congress_title=congress.title,
        slip_heading=i18n.gettext("Personal link of the delegate", language),
        slip_instruction=i18n.gettext("Scan this code to open your own page. Do not give it to anyone else.", language),
    )
    cards = [Card(r.full_name, r.unit, r.delegate_type, **links.urls(r.id, r.secrets_generation)) for r in rows]
    try:
        pdf = await asyncio.to_thread(render_badges, cards, texts, congress.title)
    except MissingGlyphs as exc:
        raise Invalid("missing_glyphs", "These characters cannot be printed: {characters}.",
                      characters=exc.describe()) from exc
    filename = i18n.gettext("Badges", language) + " - " + congress.title
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": content_disposition(filename, "application/pdf", "attachment"),
                             "Cache-Control": "no-store"})
