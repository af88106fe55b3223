"""Archive events: a closed congress gets a record job; a seal that comes back is recorded.

Both only write rows (no I/O in an event transaction); documents/handlers/archive_worker.py
does the waiting, the assembly and the sealed package. A close delivered twice, or two closes,
find the record already there: one record per congress.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select, update

import contracts.congress as cc
import contracts.signing as sc
from documents.db import archive_records
from runtime.db import UnitOfWork, utcnow
from runtime.inbox import current_delivery

log = structlog.get_logger()

RECORD_NAMESPACE = uuid.UUID("6f1d3c1e-7a0b-4d55-9a53-2f6f3d1f0a11")


def record_id_for(congress_id: str) -> str:
    """Stable: the same congress always has the same record id, on every replica and retry."""
    return str(uuid.uuid5(RECORD_NAMESPACE, congress_id))


async def when_congress_closed_queue_record(event: cc.CongressClosed, uow: UnitOfWork) -> None:
    congress_id = str(event.congress_id)
    exists = await uow.session.scalar(select(archive_records.c.state).where(archive_records.c.congress_id == congress_id))
    if exists is not None:
        log.info("archive.close_again", congress_id=congress_id, state=exists)
        return
    delivery = current_delivery.get()
    await uow.session.execute(archive_records.insert().values(
        congress_id=congress_id, record_id=record_id_for(congress_id), origin="local", state="waiting",
        close_event_id=str(event.event_id), close_stream_seq=delivery.stream_seq if delivery else None,
        attempts=0, title="", organisation="", unit="", created_at=utcnow(),
    ))
    log.info("archive.record_queued", congress_id=congress_id)


async def when_seal_applied_record_it(event: sc.SealApplied, uow: UnitOfWork) -> None:
    done = await uow.session.execute(update(archive_records).where(
        archive_records.c.record_id == str(event.record_id), archive_records.c.state == "sealing",
        archive_records.c.manifest_sha256 == event.manifest_sha256,
    ).values(state="seal_arrived", seal_sha256=event.signature_sha256, timestamp_sha256=event.timestamp_token_sha256,
             claimed_until=None))
    if done.rowcount != 1:
        log.info("archive.seal_ignored", record_id=str(event.record_id), reason="not waiting for this seal")


def handlers() -> dict:
    return {cc.CongressClosed: when_congress_closed_queue_record}


def seal_handlers() -> dict:
    return {sc.SealApplied: when_seal_applied_record_it}
