"""Console page of a congress's documents: upload (documents service), ask for signatures and
follow them (signing service), approve videos and reference material, publish and revoke, print
posters.

What the page lists comes from what this service has consumed (uploads, approvals, signature
requests and signatures); the three actions owned by the other services are sent by a little
script to their APIs on the same origin (session cookie + CSRF header), never through this
service (services do not call each other over HTTP).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from congress.api.congress_deps import base_url
from congress.db import agenda_items, document_versions, publications, signature_requests, signatures
from congress.handlers import publications as publication_use
from congress.handlers.publications import publication_json
from congress.pages.console.actions import congress_action, congress_page
from contracts.base import Event
from runtime import audit
from runtime.errors import Invalid

router = APIRouter(prefix="/console/congresses/{congress_id}/documents", include_in_schema=False)

TEMPLATE = "console/documents.html"
AUDIENCES = ("delegates", "public")


async def _context(session: Any, user: Any, congress: Any) -> dict[str, Any]:
    versions = (await session.execute(select(document_versions).where(
        document_versions.c.congress_id == congress.id).order_by(document_versions.c.document_id,
                                                                 document_versions.c.version))).all()
    documents: dict[str, dict[str, Any]] = {}
    for v in versions:  # the newest version of each document, and its newest approved one
        doc = documents.setdefault(v.document_id, {"id": v.document_id, "approved": None, "requests": [],
                                                   "signatures": [], "publications": []})
        doc["latest"] = v
        if v.approved_at is not None:
            doc["approved"] = v
    for r in (await session.execute(select(signature_requests).where(
            signature_requests.c.congress_id == congress.id).order_by(signature_requests.c.updated_at))).all():
        if r.document_id in documents:
            documents[r.document_id]["requests"].append(r)
    if documents:
        for s in (await session.execute(select(signatures).where(
                signatures.c.document_id.in_(list(documents))).order_by(signatures.c.signed_at))).all():
            documents[s.document_id]["signatures"].append(s)
    base = ""
    for p in (await session.execute(select(publications).where(publications.c.congress_id == congress.id)
                                    .order_by(publications.c.published_at))).all():
        shown = publication_json(p, base)
        if p.document_id in documents:
            documents[p.document_id]["publications"].append(shown)
    agenda = (await session.execute(select(agenda_items.c.id, agenda_items.c.title).where(
        agenda_items.c.congress_id == congress.id).order_by(agenda_items.c.position))).all()
    published_count = await session.scalar(select(func.count()).select_from(publications).where(
        publications.c.congress_id == congress.id, publications.c.state == "active"))
    return {"documents": sorted(documents.values(), key=lambda d: d["latest"].title.casefold()), "agenda": agenda,
            "published_count": published_count}


@router.get("")
async def documents_page(request: Request, congress_id: str) -> Response:
    return await congress_page(request, congress_id, TEMPLATE, _context)


def _back(congress_id: str, done: str) -> str:
    return f"/console/congresses/{congress_id}/documents?done={done}"


@router.post("/publish")
async def publish(request: Request, congress_id: str) -> Response:
    created_in: list[bool] = []
    applied: list[Event] = []

    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        audience = fields.get("audience", "delegates")
        if audience not in AUDIENCES:
            raise Invalid("bad_audience", "Choose who may open the document.")
        if not fields.get("document_id"):
            raise Invalid("document_required", "Choose a document.")
        publication, created = await publication_use.publish_document(
            uow, user, base_url(request), congress_id, fields["document_id"], None,
            fields.get("agenda_item_id") or None, audience)
        if created:
            await audit.record(uow, request, user, "document.published", f"publication:{publication['id']}",
                               congress_id, document_id=publication["document_id"], version=publication["version"],
                               audience=publication["audience"])
        created_in.append(created)
        applied.extend(uow.emitted)

    response = await congress_action(request, congress_id, work, _back(congress_id, "published"), TEMPLATE, _context)
    if created_in and created_in[0]:
        # this replica's pages at once; the feed then skips these events when they come back
        request.app.state.runtime.extras["live"].changed(congress_id, applied=applied)
    return response


@router.post("/publications/{publication_id}/revoke")
async def revoke(request: Request, congress_id: str, publication_id: str) -> Response:
    applied: list[Event] = []

    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        await publication_use.revoke_publication(uow, user, base_url(request), congress_id, publication_id)
        await audit.record(uow, request, user, "document.revoked", f"publication:{publication_id}", congress_id)
        applied.extend(uow.emitted)

    response = await congress_action(request, congress_id, work, _back(congress_id, "revoked"), TEMPLATE, _context)
    if response.status_code == 303:
        request.app.state.runtime.extras["live"].changed(congress_id, applied=applied)
    return response
