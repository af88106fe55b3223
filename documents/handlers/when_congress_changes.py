"""Copies of the congress facts the documents service checks against and renders from.

Congresses, their agenda (upload checks `agenda_item_id` against it), delegates and check-ins
(the attendance sheet and the minutes), publications (a published version's status). Each
handler makes the copy match the event, so applying one twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.sql.schema import Table

import contracts.congress as cc
from documents import model
from documents.db import agenda_items, checkins, congresses, delegates, publications, versions
from runtime.db import UnitOfWork
from runtime.pdf import nfc


async def _upsert(uow: UnitOfWork, table: Table, key: str, key_value: str, values: dict[str, Any]) -> None:
    column = table.c[key]
    if await uow.session.scalar(select(column).where(column == key_value)) is None:
        await uow.session.execute(table.insert().values({key: key_value, **values}))
    else:
        await uow.session.execute(table.update().where(column == key_value).values(**values))


async def on_congress_created(event: cc.CongressCreated | cc.CongressUpdated, uow: UnitOfWork) -> None:
    """Keep the congress's title, organisation, venue, dates and quorum for the rendered PDFs."""
    await _upsert(uow, congresses, "id", str(event.congress_id), dict(
        title=nfc(event.title), organisation=nfc(event.organisation), unit=nfc(event.unit), venue=nfc(event.venue),
        starts_at=event.starts_at, ends_at=event.ends_at, quorum=event.quorum, updated_at=event.occurred_at,
    ))


async def on_congress_closed(event: cc.CongressClosed, uow: UnitOfWork) -> None:
    """A closed congress takes no new documents or versions."""
    await uow.session.execute(
        congresses.update().where(congresses.c.id == str(event.congress_id), congresses.c.closed_at.is_(None))
        .values(closed_at=event.occurred_at)
    )


async def on_agenda_changed(event: cc.AgendaChanged, uow: UnitOfWork) -> None:
    """The agenda is replaced as a whole: the event carries every item."""
    congress_id = str(event.congress_id)
    await uow.session.execute(delete(agenda_items).where(agenda_items.c.congress_id == congress_id))
    for item in event.items:
        await uow.session.execute(
            delete(agenda_items).where(agenda_items.c.id == str(item.id))  # an item moved between congresses
        )
        await uow.session.execute(agenda_items.insert().values(
            id=str(item.id), congress_id=congress_id, position=item.position, title=nfc(item.title),
            description=nfc(item.description),
        ))


async def on_delegate_registered(event: cc.DelegateRegistered | cc.DelegateUpdated, uow: UnitOfWork) -> None:
    """Keep the delegate's name, unit and type (never phones or emails: the events carry none)."""
    values = dict(congress_id=str(event.congress_id), full_name=nfc(event.full_name), unit=nfc(event.unit),
                  delegate_type=nfc(event.delegate_type), removed=False)
    exists = await uow.session.scalar(select(delegates.c.id).where(delegates.c.id == str(event.delegate_id)))
    if exists is None:
        await uow.session.execute(delegates.insert().values(
            id=str(event.delegate_id), registered_at=event.occurred_at, **values
        ))
    else:
        await uow.session.execute(delegates.update().where(delegates.c.id == str(event.delegate_id)).values(**values))


async def on_delegate_removed(event: cc.DelegateRemoved, uow: UnitOfWork) -> None:
    await uow.session.execute(delegates.update().where(delegates.c.id == str(event.delegate_id)).values(removed=True))
    await uow.session.execute(delete(checkins).where(checkins.c.delegate_id == str(event.delegate_id)))


async def on_delegate_checked_in(event: cc.DelegateCheckedIn, uow: UnitOfWork) -> None:
    await _upsert(uow, checkins, "delegate_id", str(event.delegate_id), dict(
        congress_id=str(event.congress_id), checked_in_at=event.checked_in_at,
    ))


async def on_checkin_undone(event: cc.DelegateCheckinUndone, uow: UnitOfWork) -> None:
    await uow.session.execute(delete(checkins).where(checkins.c.delegate_id == str(event.delegate_id)))


async def on_document_published(event: cc.DocumentPublished, uow: UnitOfWork) -> None:
    """The congress published an approved version: it is `published` from now on."""
    await _upsert(uow, publications, "id", str(event.publication_id), dict(
        congress_id=str(event.congress_id), document_id=str(event.document_id), version=event.version,
        audience=event.audience, published_at=event.occurred_at,
    ))
    status = await uow.session.scalar(select(versions.c.status).where(
        versions.c.document_id == str(event.document_id), versions.c.version == event.version
    ))
    if status is not None and model.status_when_published(status):
        await uow.session.execute(versions.update().where(
            versions.c.document_id == str(event.document_id), versions.c.version == event.version,
        ).values(status=model.PUBLISHED))


class PublicationNotKnownYet(LookupError):
    """A revocation arrived before its publication (two replicas can apply events out of order):
    failing makes the inbox redeliver it after a backoff, when the publication is known, instead
    of losing the revocation."""


async def on_document_revoked(event: cc.DocumentRevoked, uow: UnitOfWork) -> None:
    """A publication withdrawn: recorded; the version stays approved and published-once."""
    known = await uow.session.scalar(select(publications.c.id).where(publications.c.id == str(event.publication_id)))
    if known is None:
        raise PublicationNotKnownYet(str(event.publication_id))
    await uow.session.execute(
        publications.update().where(publications.c.id == str(event.publication_id), publications.c.revoked_at.is_(None))
        .values(revoked_at=event.occurred_at)
    )


def handlers() -> dict:
    return {
        cc.CongressCreated: on_congress_created,
        cc.CongressUpdated: on_congress_created,
        cc.CongressClosed: on_congress_closed,
        cc.AgendaChanged: on_agenda_changed,
        cc.DelegateRegistered: on_delegate_registered,
        cc.DelegateUpdated: on_delegate_registered,
        cc.DelegateRemoved: on_delegate_removed,
        cc.DelegateCheckedIn: on_delegate_checked_in,
        cc.DelegateCheckinUndone: on_checkin_undone,
        cc.DocumentPublished: on_document_published,
        cc.DocumentRevoked: on_document_revoked,
    }
