"""Copies of the congress facts the documents service checks against and renders from.

Congresses, their agenda (upload checks `agenda_item_id` against it), delegates and check-ins
(the attendance sheet and the minutes), publications (a published version's status). Replicas
apply these events in any order, so every copy follows runtime/projection.py: the newest event
of a congress, an agenda, a delegate or a check-in wins, a removal or an undo is a tombstone an
older event cannot undo, and facts (a publication, a close) are merged in whenever they come.
"""

from __future__ import annotations

from sqlalchemy import delete, select

import contracts.congress as cc
from documents import model
from documents.db import agenda_items, agendas, checkins, congresses, delegates, publications, versions
from runtime.db import UnitOfWork
from runtime.pdf import nfc
from runtime.projection import apply_newer, merge_facts, remove


async def on_congress_created(event: cc.CongressCreated | cc.CongressUpdated, uow: UnitOfWork) -> None:
    """Keep the congress's title, organisation, venue, dates and quorum for the rendered PDFs."""
    await apply_newer(uow, congresses, {"id": str(event.congress_id)}, dict(
        title=nfc(event.title), organisation=nfc(event.organisation), unit=nfc(event.unit), venue=nfc(event.venue),
        starts_at=event.starts_at, ends_at=event.ends_at, quorum=event.quorum, updated_at=event.occurred_at,
    ))


async def on_congress_closed(event: cc.CongressClosed, uow: UnitOfWork) -> None:
    """A closed congress takes no new documents or versions (a close is final: a fact, not a state)."""
    await merge_facts(uow, congresses, {"id": str(event.congress_id)}, {"closed_at": event.occurred_at},
                      placeholders=dict(title="", organisation="", unit="", venue="", quorum=event.quorum,
                                        updated_at=event.occurred_at))


async def on_agenda_changed(event: cc.AgendaChanged, uow: UnitOfWork) -> None:
    """The agenda is replaced as a whole: the event carries every item; an older agenda is ignored."""
    congress_id = str(event.congress_id)
    if not await apply_newer(uow, agendas, {"congress_id": congress_id}, {}):
        return
    await uow.session.execute(delete(agenda_items).where(agenda_items.c.congress_id == congress_id))
    for item in event.items:
        await uow.session.execute(
            delete(agenda_items).where(agenda_items.c.id == str(item.id))  # an item moved between congresses
        )
        await uow.session.execute(agenda_items.insert().values(
            id=str(item.id), congress_id=congress_id, position=item.position, title=nfc(item.title),
            description=nfc(item.description),
        ))


async def on_delegate_registered(event: cc.DelegateRegistered, uow: UnitOfWork) -> None:
    """Keep the delegate's name, unit and type (never phones or emails: the events carry none)."""
    await apply_newer(uow, delegates, {"id": str(event.delegate_id)}, _delegate(event),
                      facts={"registered_at": event.occurred_at})


async def on_delegate_updated(event: cc.DelegateUpdated, uow: UnitOfWork) -> None:
    """Keep the delegate's new name, unit and type."""
    await apply_newer(uow, delegates, {"id": str(event.delegate_id)}, _delegate(event),
                      placeholders={"registered_at": event.occurred_at})  # until the registration arrives


def _delegate(event: cc.DelegateRegistered | cc.DelegateUpdated) -> dict[str, str]:
    return dict(congress_id=str(event.congress_id), full_name=nfc(event.full_name), unit=nfc(event.unit),
                delegate_type=nfc(event.delegate_type))


async def on_delegate_removed(event: cc.DelegateRemoved, uow: UnitOfWork) -> None:
    """The delegate and their check-in are gone; a late registration or check-in cannot return them."""
    congress_id = str(event.congress_id)
    # The tombstone keeps no name: the roster and the record never show a removed delegate.
    await remove(uow, delegates, {"id": str(event.delegate_id)}, state=dict(full_name="", unit="", delegate_type=""),
                 placeholders=dict(congress_id=congress_id, registered_at=event.occurred_at))
    await _checkin_gone(uow, event)


async def _checkin_gone(uow: UnitOfWork, event: cc.DelegateRemoved | cc.DelegateCheckinUndone) -> None:
    """A tombstone dated by the event that ended the check-in, whatever check-in it ended."""
    await remove(uow, checkins, {"delegate_id": str(event.delegate_id)}, state={"checked_in_at": event.occurred_at},
                 placeholders={"congress_id": str(event.congress_id)})


async def on_delegate_checked_in(event: cc.DelegateCheckedIn, uow: UnitOfWork) -> None:
    await apply_newer(uow, checkins, {"delegate_id": str(event.delegate_id)}, dict(
        congress_id=str(event.congress_id), checked_in_at=event.checked_in_at,
    ))


async def on_checkin_undone(event: cc.DelegateCheckinUndone, uow: UnitOfWork) -> None:
    await _checkin_gone(uow, event)


async def on_document_published(event: cc.DocumentPublished, uow: UnitOfWork) -> None:
    """The congress published an approved version: it is `published` from now on."""
    await merge_facts(uow, publications, {"id": str(event.publication_id)}, dict(
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


async def on_document_revoked(event: cc.DocumentRevoked, uow: UnitOfWork) -> None:
    """A publication withdrawn: recorded; the version stays approved and published-once.

    A revocation applied before its publication keeps the row until the publication fills it in."""
    await merge_facts(uow, publications, {"id": str(event.publication_id)}, {"revoked_at": event.occurred_at},
                      placeholders=dict(congress_id=str(event.congress_id), document_id=str(event.document_id),
                                        version=0, audience="", published_at=event.occurred_at))


def handlers() -> dict:
    return {
        cc.CongressCreated: on_congress_created,
        cc.CongressUpdated: on_congress_created,
        cc.CongressClosed: on_congress_closed,
        cc.AgendaChanged: on_agenda_changed,
        cc.DelegateRegistered: on_delegate_registered,
        cc.DelegateUpdated: on_delegate_updated,
        cc.DelegateRemoved: on_delegate_removed,
        cc.DelegateCheckedIn: on_delegate_checked_in,
        cc.DelegateCheckinUndone: on_checkin_undone,
        cc.DocumentPublished: on_document_published,
        cc.DocumentRevoked: on_document_revoked,
    }
