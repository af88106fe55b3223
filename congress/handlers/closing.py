"""Closing a congress, and the one guard every write of a congress passes.

A congress closes only when none of its signature requests is open (the minutes are signed
before the close). The congress service learns the requests from the SIGNING stream
(`signing.request.created/completed/rejected/cancelled`) into `signature_requests`.
After `CongressClosed` nothing of the congress changes: `ensure_open_for_writes` answers 409.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
import contracts.signing as sc
from congress.db import congresses, signature_requests
from congress.domain.congresses import ensure_writable
from congress.handlers.attendance import attendance
from congress.handlers.congresses import congress_json, congress_row, staff_congress
from runtime.auth import Principal
from runtime.db import UnitOfWork, utcnow
from runtime.errors import Conflict, NotFound
from runtime.projection import apply_newer


async def ensure_open_for_writes(session: AsyncSession, congress_id: str) -> None:
    """409 when the congress is closed (404 when it does not exist). Call inside the write's
    transaction, before changing anything of the congress."""
    state = await session.scalar(select(congresses.c.state).where(congresses.c.id == str(congress_id)))
    if state is None:
        raise NotFound("not_found", "Not found.")
    ensure_writable(state)


class OpenRequests(Conflict):
    """409 with the open requests listed (the console shows them)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__("signature_requests_open",
                         "Signature requests are still open: {count}. Finish or cancel them before closing.",
                         count=len(items))
        self.items = items


def _request_json(row: Any) -> dict[str, Any]:
    return {"request_id": row.request_id, "document_id": row.document_id, "version": row.version,
            "title": row.title, "requested_by": row.requested_by, "state": row.state}


async def open_requests(session: AsyncSession, congress_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(signature_requests).where(
        signature_requests.c.congress_id == congress_id, signature_requests.c.state == "open")
        .order_by(signature_requests.c.updated_at, signature_requests.c.request_id))).all()
    return [_request_json(r) for r in rows]


async def close_congress(uow: UnitOfWork, user: Principal, congress_id: str) -> tuple[dict[str, Any], bool]:
    """(summary, closed now). Closing a closed congress again answers the first close (200)."""
    row = await staff_congress(uow.session, user, congress_id)
    if row.state == "closed":
        return congress_json(row), False
    pending = await open_requests(uow.session, congress_id)
    if pending:
        raise OpenRequests(pending)
    summary = await attendance(uow.session, congress_id)
    now = utcnow()
    await uow.session.execute(congresses.update().where(congresses.c.id == congress_id, congresses.c.state != "closed")
                              .values(state="closed", closed_at=now, updated_at=now))
    await uow.emit(cc.CongressClosed(congress_id=uuid.UUID(congress_id), registered=summary.registered,
                                     present=summary.present, quorum=summary.quorum,
                                     quorum_reached=summary.quorum_reached, actor=user.id))
    return congress_json(await congress_row(uow.session, congress_id)), True


# -- what the signing service announces -------------------------------------------------------
# Replicas of the closing consumer apply a request's events in any order: its newest event sets
# its state, and the creation's details are facts merged in whenever it arrives
# (runtime/projection.py).


async def _finish(uow: UnitOfWork, event: Any, state: str) -> None:
    """A request ended (completed, rejected, cancelled): remember it, created or not yet seen."""
    await apply_newer(uow, signature_requests, {"request_id": str(event.request_id)},
                      {"state": state, "updated_at": event.occurred_at},
                      placeholders={"congress_id": str(event.congress_id) if event.congress_id else None,
                                    "document_id": str(event.document_id)})


async def when_request_created(event: sc.RequestCreated, uow: UnitOfWork) -> None:
    await apply_newer(uow, signature_requests, {"request_id": str(event.request_id)},
                      {"state": "open", "updated_at": event.occurred_at},
                      facts={"congress_id": str(event.congress_id) if event.congress_id else None,
                             "document_id": str(event.document_id), "title": event.title,
                             "requested_by": event.requested_by, "version": event.version})


async def when_request_completed(event: sc.RequestCompleted, uow: UnitOfWork) -> None:
    await _finish(uow, event, "completed")


async def when_request_rejected(event: sc.RequestRejected, uow: UnitOfWork) -> None:
    await _finish(uow, event, "rejected")


async def when_request_cancelled(event: sc.RequestCancelled, uow: UnitOfWork) -> None:
    await _finish(uow, event, "cancelled")
