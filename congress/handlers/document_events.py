"""What the documents and signing services tell us: which versions exist, which are approved
(only those may be published) and which bytes carry signatures (shown on the scan page).

Handlers of consumed events: they only use `uow.session` (the inbox makes them idempotent),
and they are written as upserts so that events of one document arriving in any order
converge on the same rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

import contracts.documents as dc
import contracts.signing as sc
from congress.db import document_versions, signatures
from runtime.db import UnitOfWork

CONTENT_TYPE_OF_KIND = {"video": "video/mp4"}


async def _upsert_version(uow: UnitOfWork, document_id: str, version: int, values: dict[str, Any]) -> None:
    key = (document_versions.c.document_id == document_id, document_versions.c.version == version)
    found = (await uow.session.execute(select(document_versions).where(*key))).first()
    if found is None:
        await uow.session.execute(document_versions.insert().values(document_id=document_id, version=version, **values))
    else:
        # Never blank out what an earlier event told us (agenda item, content type).
        keep = {k: v for k, v in values.items() if v is not None and not (k == "agenda_item_id" and not v)}
        await uow.session.execute(document_versions.update().where(*key).values(**keep))


async def record_document_uploaded(event: dc.DocumentUploaded, uow: UnitOfWork) -> None:
    """A version exists: remember its agenda item and content type for when it is approved."""
    await _upsert_version(uow, str(event.document_id), event.version, dict(
        congress_id=str(event.congress_id) if event.congress_id else None, sha256=event.sha256, title=event.title,
        kind=event.kind, pages=event.pages, size=event.size, content_type=event.content_type,
        agenda_item_id=str(event.agenda_item_id) if event.agenda_item_id else None,
    ))


async def record_document_approved(event: dc.DocumentApproved, uow: UnitOfWork) -> None:
    """This version may now be published."""
    document_id = str(event.document_id)
    agenda_item_id = await uow.session.scalar(
        select(document_versions.c.agenda_item_id).where(
            document_versions.c.document_id == document_id, document_versions.c.agenda_item_id.is_not(None)
        ).order_by(document_versions.c.version.desc()).limit(1)
    )
    found = await uow.session.scalar(select(document_versions.c.content_type).where(
        document_versions.c.document_id == document_id, document_versions.c.version == event.version))
    await _upsert_version(uow, document_id, event.version, dict(
        congress_id=str(event.congress_id) if event.congress_id else None, sha256=event.sha256, title=event.title,
        kind=event.kind, pages=event.pages, approved_at=event.occurred_at, agenda_item_id=agenda_item_id,
        content_type=found or CONTENT_TYPE_OF_KIND.get(event.kind, "application/pdf"),
    ))


async def record_signature(event: sc.RequestSigned, uow: UnitOfWork) -> None:
    exists = await uow.session.scalar(
        select(signatures.c.verification_code).where(signatures.c.verification_code == event.verification_code))
    if exists is None:
        await uow.session.execute(signatures.insert().values(
            verification_code=event.verification_code, request_id=str(event.request_id),
            document_id=str(event.document_id), signed_sha256=event.signed_sha256,
            signer_full_name=event.signer_full_name, signed_at=event.signed_at, completed=False))


async def record_signing_completed(event: sc.RequestCompleted, uow: UnitOfWork) -> None:
    await uow.session.execute(
        signatures.update().where(signatures.c.request_id == str(event.request_id)).values(completed=True))
