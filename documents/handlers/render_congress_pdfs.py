"""Rendering a congress's agenda, attendance sheet and minutes draft from the service's copies."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from documents.db import access, agenda_items, checkins, congresses, delegates, documents, signatures, versions
from documents.handlers import Deps
from documents.render import (
    AgendaLine,
    CongressSheet,
    DelegateLine,
    DocumentLine,
    SignatureLine,
    render_agenda,
    render_attendance,
    render_minutes,
)
from runtime.auth import Principal
from runtime.errors import Invalid, NotFound
from runtime.pdf import MissingGlyphs

RENDERS = ("agenda", "attendance", "minutes")


async def _congress(session: AsyncSession, user: Principal, congress_id: str) -> CongressSheet:
    row = (await session.execute(select(congresses).where(congresses.c.id == congress_id))).first()
    if row is None or not await access.is_staff(session, user, congress_id):
        raise NotFound("not_found", "Not found.")
    return CongressSheet(title=row.title, organisation=row.organisation, unit=row.unit, venue=row.venue,
                         starts_at=row.starts_at, ends_at=row.ends_at, quorum=row.quorum)


async def _agenda(session: AsyncSession, congress_id: str) -> list[AgendaLine]:
    rows = await session.execute(
        select(agenda_items).where(agenda_items.c.congress_id == congress_id).order_by(agenda_items.c.position)
    )
    return [AgendaLine(r.position, r.title, r.description) for r in rows]


async def _delegates(session: AsyncSession, congress_id: str) -> list[DelegateLine]:
    rows = await session.execute(
        select(delegates, checkins.c.checked_in_at)
        .outerjoin(checkins, (checkins.c.delegate_id == delegates.c.id) & checkins.c.removed.is_(False))
        .where(delegates.c.congress_id == congress_id, delegates.c.removed.is_(False))
        .order_by(delegates.c.registered_at, delegates.c.id)
    )
    return [DelegateLine(r.full_name, r.unit, r.delegate_type, r.checked_in_at) for r in rows]


async def _documents(session: AsyncSession, congress_id: str) -> list[DocumentLine]:
    positions = {r.id: r.position for r in await session.execute(
        select(agenda_items.c.id, agenda_items.c.position).where(agenda_items.c.congress_id == congress_id)
    )}
    lines: list[DocumentLine] = []
    docs = await session.execute(
        select(documents).where(documents.c.congress_id == congress_id).order_by(documents.c.created_at)
    )
    for doc in docs.all():
        latest = (await session.execute(
            select(versions.c.version, versions.c.status, versions.c.approved_via, versions.c.request_id)
            .where(versions.c.document_id == doc.id).order_by(versions.c.version.desc()).limit(1)
        )).first()
        if latest is None:
            continue
        signed: list[Any] = []
        if latest.request_id:
            signed = list(await session.execute(
                select(signatures).where(signatures.c.request_id == latest.request_id).order_by(signatures.c.signed_at)
            ))
        lines.append(DocumentLine(
            title=doc.title, kind=doc.kind, version=latest.version, status=latest.status,
            agenda_position=positions.get(doc.agenda_item_id), approved_via=latest.approved_via,
            signatures=tuple(SignatureLine(s.signer_full_name, s.role, s.signed_at) for s in signed),
        ))
    return lines


async def render_congress_pdf(deps: Deps, user: Principal, congress_id: str, name: str) -> tuple[bytes, str]:
    """(pdf bytes, congress title). Refuses (422) text the font cannot draw, naming the characters."""
    if name not in RENDERS:
        raise NotFound("not_found", "Not found.")
    async with deps.db.session() as session:
        congress = await _congress(session, user, congress_id)
        if name == "agenda":
            agenda = await _agenda(session, congress_id)
            draw = lambda: render_agenda(congress, agenda)  # noqa: E731
        elif name == "attendance":
            roster = await _delegates(session, congress_id)
            draw = lambda: render_attendance(congress, roster)  # noqa: E731
        else:
            agenda, roster, docs = (await _agenda(session, congress_id), await _delegates(session, congress_id),
                                    await _documents(session, congress_id))
            draw = lambda: render_minutes(congress, agenda, roster, docs)  # noqa: E731
    try:
        return await asyncio.to_thread(draw), congress.title
    except MissingGlyphs as exc:
        raise Invalid("missing_glyphs", "The font cannot draw these characters: {characters}. Please correct the text.",
                      characters=exc.describe()) from exc
