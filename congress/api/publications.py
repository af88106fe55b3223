"""HTTP → publication use cases: `/api/congresses/{id}/publications…`, their QR codes and posters."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from congress.api.congress_deps import BaseUrl, Runtime, Secretary
from congress.db import agenda_items
from congress.domain.publications import content_disposition
from congress.handlers import publications as use
from congress.render.poster import Poster, render_poster
from runtime import audit, i18n, qr
from runtime.auth import StaffRoute
from runtime.errors import Invalid
from runtime.pdf import MissingGlyphs
from runtime.service import language_of

router = APIRouter(prefix="/api/congresses/{congress_id}/publications", tags=["publications"], route_class=StaffRoute)


class PublicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: uuid.UUID
    version: int | None = Field(None, ge=1)
    agenda_item_id: uuid.UUID | None = None
    audience: Literal["public", "delegates"] = "public"


def _forget(runtime: Any, congress_id: str, events: list[Any]) -> None:
    """This replica learns at once; the others from the live feed of the stream."""
    runtime.extras["live"].changed(congress_id, applied=events)


@router.post("")
async def publish(congress_id: str, body: PublicationIn, user: Secretary, runtime: Runtime, base: BaseUrl,
                  request: Request) -> JSONResponse:
    async with runtime.db.uow() as uow:
        publication, created = await use.publish_document(
            uow, user, base, congress_id, str(body.document_id), body.version,
            str(body.agenda_item_id) if body.agenda_item_id else None, body.audience)
        if created:
            await audit.record(uow, request, user, "document.published", f"publication:{publication['id']}",
                               congress_id, document_id=publication["document_id"], version=publication["version"],
                               audience=publication["audience"])
    if created:
        _forget(runtime, congress_id, uow.emitted)
    return JSONResponse(publication, status_code=201 if created else 200)


@router.get("")
async def list_publications(congress_id: str, user: Secretary, runtime: Runtime, base: BaseUrl) -> dict[str, Any]:
    async with runtime.db.session() as session:
        return await use.list_publications(session, user, base, congress_id)


@router.get("/{publication_id}")
async def get_publication(congress_id: str, publication_id: str, user: Secretary, runtime: Runtime,
                          base: BaseUrl) -> dict[str, Any]:
    async with runtime.db.session() as session:
        return (await use.get_publication(session, user, base, congress_id, publication_id))[1]


@router.post("/{publication_id}/revoke")
async def revoke(congress_id: str, publication_id: str, user: Secretary, runtime: Runtime, base: BaseUrl,
                 request: Request) -> dict[str, Any]:
    async with runtime.db.uow() as uow:
        publication = await use.revoke_publication(uow, user, base, congress_id, publication_id)
        await audit.record(uow, request, user, "document.revoked", f"publication:{publication_id}", congress_id)
    _forget(runtime, congress_id, uow.emitted)
    return publication


@router.get("/{publication_id}/qr.png")
async def qr_png(congress_id: str, publication_id: str, user: Secretary, runtime: Runtime, base: BaseUrl) -> Response:
    async with runtime.db.session() as session:
        _, publication = await use.get_publication(session, user, base, congress_id, publication_id)
    return Response(qr.png(publication["url"]), media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{publication_id}/qr.svg")
async def qr_svg(congress_id: str, publication_id: str, user: Secretary, runtime: Runtime, base: BaseUrl) -> Response:
    async with runtime.db.session() as session:
        _, publication = await use.get_publication(session, user, base, congress_id, publication_id)
    return Response(qr.svg(publication["url"]), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{publication_id}/poster.pdf")
async def poster(congress_id: str, publication_id: str, user: Secretary, runtime: Runtime, base: BaseUrl,
                 request: Request) -> Response:
    async with runtime.db.session() as session:
        congress, publication = await use.get_publication(session, user, base, congress_id, publication_id)
        agenda_title = ""
        if publication["agenda_item_id"]:
            agenda_title = await session.scalar(
                select(agenda_items.c.title).where(agenda_items.c.id == publication["agenda_item_id"])) or ""
    language = language_of(request)
    sheet = Poster(congress_title=congress.title, agenda_item=agenda_title, title=publication["title"],
                   url=publication["url"],
                   instruction=i18n.gettext("Scan the QR code with your phone's camera to open the document.", language))
    try:
        pdf = await asyncio.to_thread(render_poster, sheet)
    except MissingGlyphs as exc:
        raise Invalid("missing_glyphs", "These characters cannot be printed: {characters}.",
                      characters=exc.describe()) from exc
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": content_disposition(publication["title"], "application/pdf"),
                             "Cache-Control": "private, no-cache"})
