"""Use cases of publications: publish an approved version behind a token, revoke it, list them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
from congress.db import agenda_items, document_versions, publications
from congress.domain.publications import KnownVersion, choose_version, new_token
from congress.handlers.congresses import staff_congress, writable_congress
from runtime.auth import Principal
from runtime.db import UnitOfWork, utcnow
from runtime.errors import Invalid, NotFound


def publication_json(row: Any, base_url: str) -> dict[str, Any]:
    api = f"{base_url}/api/congresses/{row.congress_id}/publications/{row.id}"
    return {
        "id": row.id,
        "congress_id": row.congress_id,
        "token": row.token,
        "url": f"{base_url}/q/{row.token}",
        "qr_png_url": f"{api}/qr.png",
        "qr_svg_url": f"{api}/qr.svg",
        "poster_pdf_url": f"{api}/poster.pdf",
        "document_id": row.document_id,
        "version": row.version,
        "sha256": row.sha256,
        "title": row.title,
        "kind": row.kind,
        "agenda_item_id": row.agenda_item_id,
        "audience": row.audience,
        "state": row.state,
        "published_at": row.published_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "views": row.views,
        "unique_delegates": row.unique_delegates,
    }


async def _versions(session: AsyncSession, document_id: str) -> list[KnownVersion]:
    rows = (await session.execute(select(document_versions).where(document_versions.c.document_id == document_id))).all()
    return [KnownVersion(r.document_id, r.version, r.congress_id, r.sha256, r.title, r.kind, r.pages, r.size,
                         r.content_type, r.agenda_item_id, r.approved_at is not None) for r in rows]


async def publication_row(session: AsyncSession, congress_id: str, publication_id: str) -> Any:
    row = (await session.execute(select(publications).where(
        publications.c.id == publication_id, publications.c.congress_id == congress_id))).first()
    if row is None:
        raise NotFound("not_found", "Not found.")
    return row


async def publish_document(uow: UnitOfWork, user: Principal, base_url: str, congress_id: str, document_id: str,
                           version: int | None, agenda_item_id: str | None, audience: str) -> tuple[dict[str, Any], bool]:
    """(publication, created): publishing the same version again to the same audience and item
    answers the publication that is already live."""
    await writable_congress(uow, user, congress_id)
    chosen = choose_version(await _versions(uow.session, document_id), congress_id, version)
    item = agenda_item_id or chosen.agenda_item_id
    if item is not None:
        belongs = await uow.session.scalar(select(agenda_items.c.id).where(
            agenda_items.c.id == item, agenda_items.c.congress_id == congress_id))
        if belongs is None:
            if agenda_item_id:
                raise Invalid("unknown_agenda_item", "This agenda item does not belong to the congress.")
            item = None  # the document's own item was removed from the agenda since
    live = (await uow.session.execute(select(publications).where(
        publications.c.congress_id == congress_id, publications.c.document_id == document_id,
        publications.c.version == chosen.version, publications.c.audience == audience,
        publications.c.state == "active"))).all()
    for row in live:
        if row.agenda_item_id == item:
            return publication_json(row, base_url), False
    publication_id = str(uuid.uuid4())
    await uow.session.execute(publications.insert().values(
        id=publication_id, token=new_token(), congress_id=congress_id, document_id=document_id, version=chosen.version,
        sha256=chosen.sha256, title=chosen.title, kind=chosen.kind, content_type=chosen.content_type, size=chosen.size,
        agenda_item_id=item, audience=audience, state="active", published_by=user.id, published_at=utcnow(),
        views=0, unique_delegates=0))
    await uow.emit(cc.DocumentPublished(
        congress_id=uuid.UUID(congress_id), publication_id=uuid.UUID(publication_id),
        document_id=uuid.UUID(document_id), version=chosen.version, sha256=chosen.sha256, title=chosen.title,
        agenda_item_id=uuid.UUID(item) if item else None, audience=audience))  # type: ignore[arg-type]
    return publication_json(await publication_row(uow.session, congress_id, publication_id), base_url), True


async def revoke_publication(uow: UnitOfWork, user: Principal, base_url: str, congress_id: str,
                             publication_id: str) -> dict[str, Any]:
    await writable_congress(uow, user, congress_id)
    row = await publication_row(uow.session, congress_id, publication_id)
    if row.state == "active":
        await uow.session.execute(publications.update().where(publications.c.id == publication_id).values(
            state="revoked", revoked_at=utcnow()))
        await uow.emit(cc.DocumentRevoked(congress_id=uuid.UUID(congress_id), publication_id=uuid.UUID(publication_id),
                                          document_id=uuid.UUID(row.document_id)))
    return publication_json(await publication_row(uow.session, congress_id, publication_id), base_url)


async def get_publication(session: AsyncSession, user: Principal, base_url: str, congress_id: str,
                          publication_id: str) -> tuple[Any, dict[str, Any]]:
    congress = await staff_congress(session, user, congress_id)
    return congress, publication_json(await publication_row(session, congress_id, publication_id), base_url)


async def list_publications(session: AsyncSession, user: Principal, base_url: str, congress_id: str) -> dict[str, Any]:
    await staff_congress(session, user, congress_id)
    rows = (await session.execute(select(publications).where(publications.c.congress_id == congress_id).order_by(
        publications.c.published_at.desc(), publications.c.id))).all()
    return {"items": [publication_json(r, base_url) for r in rows], "next": None}
