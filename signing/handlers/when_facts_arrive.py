"""Facts the signing service keeps from other services' events: documents and closed congresses."""

from __future__ import annotations

from sqlalchemy import select

import contracts.congress as cc
import contracts.documents as dc
from runtime.db import UnitOfWork
from signing.db import closed_congresses, documents_seen


async def remember_document(event: dc.DocumentUploaded, uow: UnitOfWork) -> None:
    """A version that may be sent for signature: its bytes are in the Object Store under sha256."""
    key = (documents_seen.c.document_id == str(event.document_id), documents_seen.c.version == event.version)
    if await uow.session.scalar(select(documents_seen.c.sha256).where(*key)) is not None:
        return
    await uow.session.execute(documents_seen.insert().values(
        document_id=str(event.document_id), version=event.version,
        congress_id=str(event.congress_id) if event.congress_id else None, sha256=event.sha256,
        title=event.title, kind=event.kind, pages=event.pages, content_type=event.content_type,
    ))


async def remember_closed_congress(event: cc.CongressClosed, uow: UnitOfWork) -> None:
    """No new signature request for a congress that has ended."""
    if event.congress_id is None:
        return
    if await uow.session.scalar(select(closed_congresses.c.congress_id).where(
            closed_congresses.c.congress_id == str(event.congress_id))) is None:
        await uow.session.execute(closed_congresses.insert().values(
            congress_id=str(event.congress_id), closed_at=event.occurred_at))
