"""A secretary approves a video or reference document directly (no signatures), and the record says so."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

import contracts.documents as events
from documents import model
from documents.db import documents, versions
from documents.handlers import Deps
from documents.handlers.read_documents import document_view, load_document, version_rows
from runtime.auth import Principal
from runtime.db import utcnow
from runtime.errors import Conflict, NotFound


def approved_event(doc: Any, row: Any, method: str, request_id: str | None, actor: str | None) -> events.DocumentApproved:
    return events.DocumentApproved(
        congress_id=uuid.UUID(doc.congress_id), document_id=uuid.UUID(doc.id), version=row.version,
        sha256=row.sha256, title=doc.title, kind=doc.kind, pages=row.pages, method=method,
        request_id=uuid.UUID(request_id) if request_id else None, actor=actor,
    )


async def approve_document(deps: Deps, user: Principal, document_id: str) -> tuple[dict[str, Any], bool]:
    """Approve the latest version; returns (view, changed). Approving again answers the first result."""
    async with deps.db.session() as session:
        doc = await load_document(session, user, document_id)
    try:
        model.check_can_approve_directly(doc.kind)
    except model.RuleBroken as exc:
        raise Conflict(exc.code, exc.message) from exc
    async with deps.db.uow() as uow:
        row = (await uow.session.execute(
            select(versions).where(versions.c.document_id == doc.id).order_by(versions.c.version.desc()).limit(1)
        )).first()
        if row is None:
            raise NotFound("not_found", "Not found.")
        changed = False
        if row.status == model.DRAFT:
            now = utcnow()
            await uow.session.execute(
                versions.update()
                .where(versions.c.document_id == doc.id, versions.c.version == row.version,
                       versions.c.status == model.DRAFT)
                .values(status=model.APPROVED, approved_via=model.VIA_SECRETARY, approved_at=now)
            )
            await uow.session.execute(documents.update().where(documents.c.id == doc.id).values(updated_at=now))
            await uow.emit(approved_event(doc, row, model.VIA_SECRETARY, None, user.id))
            changed = True
        elif row.status not in model.FROZEN:
            raise Conflict("document_in_review", "A signature request is open for this document; cancel it first.")
    async with deps.db.session() as session:
        return document_view(doc, await version_rows(session, doc.id)), changed
