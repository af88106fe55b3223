"""Signing events move a version through review; a completed request queues its signed revision.

Each handler is idempotent on its own (the inbox also drops redeliveries) and never touches a
frozen version: a late or repeated event cannot take an approval back. Replicas apply a
request's events in any order, so the copy of each request follows runtime/projection.py: its
newest event sets its status, and a version's review status ends as stream order leaves it (a
creation applied after a rejection or a cancellation leaves the version as the end left it). The signed
revision's bytes are read from the Object Store outside any transaction by the importer
(import_signed_revision.py), which then adds the approved version.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select

import contracts.signing as signing
from documents import model
from documents.db import signatures, signing_requests, versions
from runtime.db import UnitOfWork
from runtime.projection import apply_newer

log = structlog.get_logger()

OPEN, COMPLETED, REJECTED, CANCELLED = "open", "completed", "rejected", "cancelled"

UNKNOWN_VERSION = 0
"""A request whose end was applied before its creation: the creation fills in its version (only a
creation accepted here does: its version exists with the sha256 signed). Until then a completed
request is not imported."""


async def _set_version_status(uow: UnitOfWork, document_id: str, version: int, rule) -> None:  # type: ignore[no-untyped-def]
    status = await uow.session.scalar(
        select(versions.c.status).where(versions.c.document_id == document_id, versions.c.version == version)
    )
    if status is None:
        return
    new = rule(status)
    if new is not None:
        await uow.session.execute(
            versions.update()
            .where(versions.c.document_id == document_id, versions.c.version == version, versions.c.status == status)
            .values(status=new)
        )


async def on_request_created(event: signing.RequestCreated, uow: UnitOfWork) -> None:
    """The version a signature request names goes into review."""
    document_id, request_id = str(event.document_id), str(event.request_id)
    sha256 = await uow.session.scalar(
        select(versions.c.sha256).where(versions.c.document_id == document_id, versions.c.version == event.version)
    )
    if sha256 is None:
        log.warning("signing.request_for_unknown_version", document_id=document_id, version=event.version)
        return
    if sha256 != event.sha256:
        log.warning("signing.request_sha256_mismatch", document_id=document_id, version=event.version)
        return
    await apply_newer(
        uow, signing_requests, {"request_id": request_id}, {"status": OPEN, "updated_at": event.occurred_at},
        facts=dict(document_id=document_id, version=event.version, created_at=event.occurred_at),
    )
    status = await uow.session.scalar(select(signing_requests.c.status).where(
        signing_requests.c.request_id == request_id))
    # A completion leaves the version in review (its signed revision supersedes it); a rejection or
    # a cancellation applied before this creation already gave the version back: leave it.
    if status in (OPEN, COMPLETED):
        await _set_version_status(uow, document_id, event.version, model.status_when_request_created)


async def on_request_signed(event: signing.RequestSigned, uow: UnitOfWork) -> None:
    """Keep who signed, when, and their verification code (the minutes and the archive show them)."""
    key = (signatures.c.request_id == str(event.request_id), signatures.c.signer == event.signer)
    if await uow.session.scalar(select(signatures.c.signer).where(*key)) is not None:
        return
    await uow.session.execute(signatures.insert().values(
        request_id=str(event.request_id), signer=event.signer, document_id=str(event.document_id),
        signer_full_name=event.signer_full_name, role=event.role, verification_code=event.verification_code,
        signed_sha256=event.signed_sha256, signed_at=event.signed_at,
    ))


async def _end_request(uow: UnitOfWork, event: Any, status: str, **values: Any) -> bool:
    """The request ended (its last state). Returns whether this was the request's newest event."""
    request_id = str(event.request_id)
    newest = await apply_newer(
        uow, signing_requests, {"request_id": request_id}, {"status": status, "updated_at": event.occurred_at, **values},
        placeholders=dict(document_id=str(event.document_id), version=UNKNOWN_VERSION, created_at=event.occurred_at),
    )
    if not newest or status == COMPLETED:
        return newest
    request = (await uow.session.execute(
        select(signing_requests).where(signing_requests.c.request_id == request_id)
    )).one()
    if request.version == UNKNOWN_VERSION:
        return newest  # never created here: its version never went into review
    still_open = await uow.session.scalar(select(signing_requests.c.request_id).where(
        signing_requests.c.document_id == request.document_id, signing_requests.c.version == request.version,
        signing_requests.c.status == OPEN,
    ))
    if still_open is None:
        await _set_version_status(uow, request.document_id, request.version, model.status_when_request_ended)
    return newest


async def on_request_rejected(event: signing.RequestRejected, uow: UnitOfWork) -> None:
    """A signer refused: the version is a draft again (a corrected version can be uploaded)."""
    await _end_request(uow, event, REJECTED)


async def on_request_cancelled(event: signing.RequestCancelled, uow: UnitOfWork) -> None:
    """The secretary withdrew the request: the version is a draft again."""
    await _end_request(uow, event, CANCELLED)


async def on_request_completed(event: signing.RequestCompleted, uow: UnitOfWork) -> None:
    """Everyone signed: queue the signed blob to become the next, approved version."""
    await _end_request(uow, event, COMPLETED, final_sha256=event.final_sha256)


def handlers() -> dict:
    return {
        signing.RequestCreated: on_request_created,
        signing.RequestSigned: on_request_signed,
        signing.RequestRejected: on_request_rejected,
        signing.RequestCancelled: on_request_cancelled,
        signing.RequestCompleted: on_request_completed,
    }
