"""A completed signature request's signed blob becomes the document's next version, approved.

The consumer only records the completion (no I/O inside an event transaction, where SQLite
would hold its one write connection while NATS sends megabytes). This importer then fetches
the blob into the local cache, reads its pages and text, and in one transaction adds the
version (approved, via signatures), marks the reviewed version superseded, and emits
DocumentUploaded and DocumentApproved. Claiming the request (`imported_version IS NULL`)
inside that transaction makes two replicas, or a restart halfway, import it once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import structlog
from sqlalchemy import func, select

import contracts.documents as events
from documents import model
from documents.db import documents, signing_requests, versions
from documents.handlers import Deps
from documents.handlers.approve_document import approved_event
from documents.handlers.when_signing_progresses import COMPLETED, UNKNOWN_VERSION
from documents.pdf_inspection import PdfRefused, inspect_pdf_isolated
from runtime.background import BackgroundLoop
from runtime.db import utcnow

log = structlog.get_logger()

POLL_SECONDS = 0.5
RETRY_SECONDS = (1.0, 5.0, 30.0, 120.0)


async def pending_requests(deps: Deps) -> list[Any]:
    async with deps.db.session() as session:
        result = await session.execute(
            select(signing_requests).where(
                signing_requests.c.status == COMPLETED, signing_requests.c.imported_version.is_(None),
                signing_requests.c.version != UNKNOWN_VERSION,  # its creation not applied yet
            ).order_by(signing_requests.c.updated_at).limit(20)
        )
        return list(result.all())


async def import_signed_revision(deps: Deps, request: Any) -> int | None:
    """Import one completed request; returns the new version number (None: already imported)."""
    path = await deps.blobs.get_to_cache(request.final_sha256)
    size = path.stat().st_size
    async with deps.pdf_slots:
        found = await inspect_pdf_isolated(path, deps.pdf_limits)
    async with deps.db.uow() as uow:
        session = uow.session
        doc = (await session.execute(select(documents).where(documents.c.id == request.document_id))).first()
        reviewed = (await session.execute(select(versions).where(
            versions.c.document_id == request.document_id, versions.c.version == request.version
        ))).first()
        if doc is None or reviewed is None:
            log.warning("signing.completed_for_unknown_document", request_id=request.request_id)
            return None
        number = (await session.scalar(
            select(func.max(versions.c.version)).where(versions.c.document_id == doc.id)
        ) or 0) + 1
        claimed = await session.execute(
            signing_requests.update()
            .where(signing_requests.c.request_id == request.request_id, signing_requests.c.imported_version.is_(None))
            .values(imported_version=number, updated_at=utcnow())
        )
        if claimed.rowcount != 1:
            return None  # another replica imported it meanwhile
        now = utcnow()
        row = dict(
            document_id=doc.id, version=number, sha256=request.final_sha256, size=size, pages=found.pages,
            content_type="application/pdf", file_name=reviewed.file_name, text=found.text,
            status=model.APPROVED, approved_via=model.VIA_SIGNATURES, approved_at=now, signed=True,
            request_id=request.request_id, source_version=reviewed.version, created_by=None, created_at=now,
        )
        await session.execute(versions.insert().values(**row))
        if reviewed.status not in model.FROZEN:
            # Signed: its signed revision replaces it (even if a rejection overtook the completion).
            await session.execute(versions.update().where(
                versions.c.document_id == doc.id, versions.c.version == reviewed.version,
            ).values(status=model.SUPERSEDED))
        await session.execute(documents.update().where(documents.c.id == doc.id).values(updated_at=now))
        await uow.emit(events.DocumentUploaded(
            congress_id=uuid.UUID(doc.congress_id), document_id=uuid.UUID(doc.id), version=number,
            sha256=row["sha256"], size=size, pages=found.pages, kind=doc.kind, title=doc.title,
            content_type=row["content_type"],
            agenda_item_id=uuid.UUID(doc.agenda_item_id) if doc.agenda_item_id else None,
        ))
        new = (await session.execute(select(versions).where(
            versions.c.document_id == doc.id, versions.c.version == number
        ))).first()
        await uow.emit(approved_event(doc, new, model.VIA_SIGNATURES, request.request_id, None))
    log.info("documents.signed_revision_imported", document_id=doc.id, version=number, request_id=request.request_id)
    return number


class SignedRevisionImporter(BackgroundLoop):
    task_name = "signed-revision-importer"
    failure_event = "documents.importer_failed"

    """Runs `import_signed_revision` for every completed request, with backoff on failures."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._failures: dict[str, tuple[int, float]] = {}  # request id -> (attempts, retry at)


    async def run_once(self) -> int:
        imported = 0
        for request in await pending_requests(self.deps):
            attempts, retry_at = self._failures.get(request.request_id, (0, 0.0))
            if time.monotonic() < retry_at:
                continue
            try:
                if await import_signed_revision(self.deps, request) is not None:
                    imported += 1
                self._failures.pop(request.request_id, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - blob not there yet, damaged, NATS down: retry later
                delay = RETRY_SECONDS[min(attempts, len(RETRY_SECONDS) - 1)]
                self._failures[request.request_id] = (attempts + 1, time.monotonic() + delay)
                reason = f"{exc.code}" if isinstance(exc, PdfRefused) else (str(exc) or type(exc).__name__)
                log.warning("documents.signed_revision_import_failed", request_id=request.request_id,
                            error=reason, retry_in=delay)
        return imported

    async def pause(self) -> None:
        await asyncio.sleep(POLL_SECONDS)
