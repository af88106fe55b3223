"""Fixity audits: every FIXITY_INTERVAL_HOURS, each sealed record is re-verified from the bytes the
Object Store holds now, and `documents.archive.fixity_checked` says whether it is intact. A
mismatch is loud: an error log line, the `archive_fixity_failures_total` metric, and the event
(intact = false, with the problems named)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import or_, select, update

import contracts.documents as events
from documents.archive.verify import verify_record
from documents.db import archive_records
from runtime.background import BackgroundLoop
from runtime.db import utcnow

log = structlog.get_logger()

FIXITY_CHECKS = Counter("archive_fixity_checks_total", "Sealed records re-verified by the fixity audit")
FIXITY_FAILURES = Counter("archive_fixity_failures_total", "Fixity audits that found a record damaged")
RECORDS_DAMAGED = Gauge("archive_records_damaged", "Records whose last fixity audit found damage")


async def due_records(db: Any, interval: timedelta, limit: int = 20) -> list[Any]:
    cutoff = utcnow() - interval
    async with db.session() as session:
        return list((await session.execute(select(archive_records).where(
            archive_records.c.state == "sealed",
            or_(archive_records.c.fixity_checked_at.is_(None), archive_records.c.fixity_checked_at < cutoff),
        ).order_by(archive_records.c.fixity_checked_at.is_not(None), archive_records.c.fixity_checked_at)
            .limit(limit))).all())


async def audit_record(db: Any, blobs: Any, work_dir: Any, record: Any) -> bool:
    report = await verify_record(db, blobs, work_dir, record)
    problems = [f"{p.code} {p.path}: {p.detail}" for p in report.problems]
    FIXITY_CHECKS.inc()
    if problems:
        FIXITY_FAILURES.inc()
        log.error("archive.fixity_failed", congress_id=record.congress_id, record_id=record.record_id,
                  problems=problems)
    async with db.uow() as uow:
        await uow.session.execute(update(archive_records).where(archive_records.c.congress_id == record.congress_id)
                                  .values(fixity_checked_at=utcnow(), fixity_intact=not problems,
                                          fixity_problems=problems))
        await uow.emit(events.ArchiveFixityChecked(congress_id=uuid.UUID(record.congress_id),
                                                   record_id=uuid.UUID(record.record_id), intact=not problems,
                                                   problems=problems[:50]))
    return not problems


async def damaged_count(db: Any) -> int:
    async with db.session() as session:
        rows = (await session.execute(select(archive_records.c.congress_id).where(
            archive_records.c.fixity_intact.is_(False)))).all()
    return len(rows)


class FixityAuditor(BackgroundLoop):
    task_name = "archive-fixity"
    failure_event = "archive.fixity_round_failed"

    def __init__(self, deps: Any) -> None:
        self.deps = deps

    @property
    def interval(self) -> timedelta:
        return timedelta(hours=self.deps.settings.fixity_interval_hours)


    async def run_once(self) -> int:
        checked = 0
        while records := await due_records(self.deps.db, self.interval):
            for record in records:
                await audit_record(self.deps.db, self.deps.blobs, self.deps.settings.archive_work_dir, record)
                checked += 1
        RECORDS_DAMAGED.set(await damaged_count(self.deps.db))
        return checked

    async def pause(self) -> None:
        await asyncio.sleep(min(60.0, max(1.0, self.interval.total_seconds() / 10)))
