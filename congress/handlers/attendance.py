"""Reads of the day: attendance (total and per unit), check-ins over time, paper saved."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from congress.db import checkins, congresses, delegates, document_versions, publications
from congress.domain.attendance import Attendance, PaperSaved, PublishedDocument, attendance_of, paper_saved


async def attendance(session: AsyncSession, congress_id: str) -> Attendance:
    quorum = await session.scalar(select(congresses.c.quorum).where(congresses.c.id == congress_id))
    rows = (await session.execute(
        select(delegates.c.unit, func.count(delegates.c.id), func.count(checkins.c.delegate_id))
        .select_from(delegates.outerjoin(checkins, checkins.c.delegate_id == delegates.c.id))
        .where(delegates.c.congress_id == congress_id)
        .group_by(delegates.c.unit)
    )).all()
    return attendance_of(float(quorum or 1.0), [(r[0], r[1], r[2]) for r in rows])


async def checkin_times(session: AsyncSession, congress_id: str) -> list[datetime]:
    rows = await session.scalars(
        select(checkins.c.checked_in_at)
        .select_from(checkins.join(delegates, delegates.c.id == checkins.c.delegate_id))
        .where(checkins.c.congress_id == congress_id).order_by(checkins.c.checked_in_at))
    return list(rows)


async def paper_saved_of(session: AsyncSession, congress_id: str, registered: int) -> PaperSaved:
    """Every document ever published in the congress (a later revoke does not bring the paper
    back), its pages from the documents service's announcement, its views from the counters."""
    rows = (await session.execute(
        select(publications.c.document_id, publications.c.title, publications.c.audience, publications.c.views,
               document_versions.c.pages)
        .select_from(publications.outerjoin(document_versions, (document_versions.c.document_id
                                                                == publications.c.document_id)
                                            & (document_versions.c.version == publications.c.version)))
        .where(publications.c.congress_id == congress_id)
    )).all()
    return paper_saved([PublishedDocument(r.document_id, r.title, int(r.pages or 0), r.audience, int(r.views or 0))
                        for r in rows], registered)


async def day_summary(session: AsyncSession, congress_id: str) -> dict[str, Any]:
    """What `GET /api/congresses/{id}/attendance` and the dashboard show."""
    counted = await attendance(session, congress_id)
    paper = await paper_saved_of(session, congress_id, counted.registered)
    return {**counted.as_json(), "pages_not_printed": paper.pages_not_printed, "documents": list(paper.documents)}
