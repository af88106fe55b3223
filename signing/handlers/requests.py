"""Signature requests: create (with the signature page), sign in order, reject, cancel, read.

Signing reads the current revision from the Object Store, adds one PAdES signature outside any
transaction (it takes tens of milliseconds), stores the new revision as a new blob, and only
then commits, with a guard: the slot is still waiting and the request still points at the
revision that was signed. A crash before the commit leaves an unreferenced blob and nothing
else; the signer's retry signs again. A retry after the commit answers with the first result,
so one signer's slot never holds two signatures.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

import contracts.signing as events
from runtime import audit as audit_trail
from runtime.auth import Principal, require_recent_auth
from runtime.db import UnitOfWork, utcnow
from runtime.errors import ApiError, Conflict, Forbidden, Invalid, NotFound, Unavailable
from runtime.faults import fault_point
from signing import model, pades, stamp
from signing.db import access, audit, closed_congresses, documents_seen, requests, slots
from signing.handlers import Deps
from signing.handlers import authority as ca_handlers

log = structlog.get_logger()

PAGE_SIZE = 50


# --------------------------------------------------------------------------- reading


async def _load(session: AsyncSession, request_id: str) -> tuple[Any, list[Any]]:
    try:
        uuid.UUID(request_id)
    except ValueError as exc:
        raise NotFound("not_found", "Not found.") from exc
    row = (await session.execute(select(requests).where(requests.c.id == request_id))).first()
    if row is None:
        raise NotFound("not_found", "Not found.")
    slot_rows = (await session.execute(
        select(slots).where(slots.c.request_id == request_id).order_by(slots.c.position))).all()
    return row, slot_rows


def _view(row: Any, slot_rows: list[Any]) -> model.RequestView:
    return model.RequestView(
        id=row.id, state=row.state, requested_by=row.requested_by,
        slots=[model.Slot(s.position, s.username, s.role, s.state) for s in slot_rows],
    )


async def _ensure_visible(session: AsyncSession, user: Principal, row: Any, slot_rows: list[Any]) -> None:
    """Staff of the congress and the request's own signers see it; anyone else gets 404."""
    if any(s.username == user.username for s in slot_rows) or row.requested_by == user.id:
        return
    if row.congress_id is None and user.is_admin:
        return
    await access.ensure_staff(session, user, row.congress_id or "")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def represent(row: Any, slot_rows: list[Any], history: list[Any] | None = None) -> dict[str, Any]:
    view = _view(row, slot_rows)
    upcoming = view.next_slot() if row.state == "open" else None
    body: dict[str, Any] = {
        "id": row.id, "congress_id": row.congress_id, "document_id": row.document_id, "version": row.version,
        "title": row.title, "state": row.state, "message": row.message, "due": _iso(row.due),
        "requested_by": row.requested_by_username, "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at), "original_sha256": row.original_sha256,
        "prepared_sha256": row.prepared_sha256, "current_sha256": row.current_sha256,
        "completion_certificate_sha256": row.completion_certificate_sha256,
        "next_signer": upcoming.username if upcoming else None,
        "signers": [
            {"position": s.position, "username": s.username, "full_name": s.full_name, "role": s.role,
             "state": s.state, "signed_at": _iso(s.signed_at), "verification_code": s.verification_code,
             "signed_sha256": s.signed_sha256, "certificate_sha256": s.certificate_sha256, "reason": s.reason}
            for s in slot_rows
        ],
    }
    if history is not None:
        body["history"] = [
            {"action": h.action, "actor": h.actor, "at": _iso(h.at), "ip": h.ip, "user_agent": h.user_agent,
             "detail": h.detail}
            for h in history
        ]
    return body


async def get_request(deps: Deps, user: Principal, request_id: str) -> dict[str, Any]:
    async with deps.db.session() as session:
        row, slot_rows = await _load(session, request_id)
        await _ensure_visible(session, user, row, slot_rows)
        history = (await session.execute(
            select(audit).where(audit.c.request_id == request_id).order_by(audit.c.at))).all()
    return represent(row, slot_rows, history)


async def list_requests(deps: Deps, user: Principal, mine: bool, congress_id: str | None,
                        cursor: str | None) -> dict[str, Any]:
    """`mine`: the requests waiting for the caller now. Otherwise those the caller may see."""
    offset = _decode_cursor(cursor)
    async with deps.db.session() as session:
        query = select(requests).order_by(requests.c.created_at.desc(), requests.c.id)
        if mine:
            waiting = select(slots.c.request_id).where(slots.c.username == user.username, slots.c.state == "waiting")
            query = query.where(requests.c.state == "open", requests.c.id.in_(waiting))
        else:
            mine_ids = select(slots.c.request_id).where(slots.c.username == user.username)
            visible = [requests.c.id.in_(mine_ids), requests.c.requested_by == user.id]
            if not user.is_admin:
                visible.append(requests.c.congress_id.in_(access.congress_ids_of(user.id)))
                query = query.where(or_(*visible))
        if congress_id:
            query = query.where(requests.c.congress_id == congress_id)
        rows = (await session.execute(query.offset(offset).limit(PAGE_SIZE + 1))).all()
        ids = [r.id for r in rows[:PAGE_SIZE]]
        slot_rows = (await session.execute(
            select(slots).where(slots.c.request_id.in_(ids)).order_by(slots.c.position))).all() if ids else []
    by_request: dict[str, list[Any]] = {}
    for s in slot_rows:
        by_request.setdefault(s.request_id, []).append(s)
    items = [represent(r, by_request.get(r.id, [])) for r in rows[:PAGE_SIZE]]
    if mine:  # "waiting for me now" = my slot is the next one
        items = [i for i in items if i["next_signer"] == user.username]
    more = len(rows) > PAGE_SIZE
    return {"items": items, "next": _encode_cursor(offset + PAGE_SIZE) if more else None}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("bad_cursor", "The page cursor is not valid.") from exc


async def document_for(deps: Deps, user: Principal, request_id: str, http: Request) -> tuple[bytes, str, str]:
    """The current revision (what the next signer signs), for the signer's page; records a view."""
    async with deps.db.session() as session:
        row, slot_rows = await _load(session, request_id)
        await _ensure_visible(session, user, row, slot_rows)
    data = await deps.read_blob(row.current_sha256)
    if any(s.username == user.username for s in slot_rows):
        async with deps.db.uow() as uow:
            await _audit(uow, http, user, row, "viewed", sha256=row.current_sha256)
    return data, row.current_sha256, row.title


# --------------------------------------------------------------------------- audit


async def _audit(uow: UnitOfWork, http: Request | None, user: Principal | None, row: Any, action: str,
                 **detail: Any) -> None:
    ip = audit_trail.client_ip(http) if http is not None else ""
    agent = http.headers.get("user-agent", "")[: audit_trail.USER_AGENT_MAX] if http is not None else ""
    await uow.session.execute(audit.insert().values(
        id=str(uuid.uuid4()), request_id=row.id, action=action, actor=user.username if user else "",
        at=utcnow(), ip=ip, user_agent=agent, detail={k: str(v) for k, v in detail.items() if v is not None},
    ))
    if http is not None:
        await audit_trail.record(uow, http, user, f"signing.request.{action}", target=f"signature_request:{row.id}",
                                 congress_id=row.congress_id, **detail)


# --------------------------------------------------------------------------- creating


async def create_request(deps: Deps, user: Principal, http: Request, *, document_id: str, version: int,
                         signers: list[tuple[str, str]], message: str, due: datetime | None) -> tuple[dict, bool]:
    """Returns (request, created). A repeat of an identical open request answers with it."""
    if not user.has_role("secretary", "admin"):
        raise Forbidden("forbidden", "You do not have permission to do this.")
    signers = [(model.nfc(u), r) for u, r in signers]
    model.validate_signers(signers, stamp.MAX_SIGNERS)
    async with deps.db.session() as session:
        doc = (await session.execute(select(documents_seen).where(
            documents_seen.c.document_id == document_id, documents_seen.c.version == version))).first()
        if doc is None:
            raise NotFound("not_found", "Not found.")
        await access.ensure_staff(session, user, doc.congress_id or "")
        if doc.congress_id and await session.scalar(
                select(closed_congresses.c.congress_id).where(closed_congresses.c.congress_id == doc.congress_id)):
            raise Conflict("congress_closed", "The congress is closed: no new signature requests.")
        if doc.content_type != "application/pdf":
            raise ApiError("not_a_pdf", "Only PDF documents can be signed.", status=415)
        people = []
        for username, role in signers:
            person = (await session.execute(select(access.users).where(access.users.c.username == username))).first()
            if person is None or not person.active:
                raise Invalid("unknown_signer", "There is no active user named {username}.", username=username)
            if not model.wants_certificate(person.roles, person.active):
                raise Invalid("not_a_signer", "{username} has no signing role (signer or secretary).",
                              username=username)
            people.append((person, role))
        existing = await _open_request_for(session, document_id, version)
    if existing is not None:
        row, slot_rows = existing
        if [(s.username, s.role) for s in slot_rows] == signers and row.requested_by == user.id:
            return represent(row, slot_rows), False
        raise Conflict("request_open", "A signature request for this version is already open.")

    original = await deps.read_blob(doc.sha256)
    labels = [stamp.SlotLabel(p.full_name, role) for p, role in people]
    try:
        prepared = await asyncio.to_thread(pades.prepare_for_signing, original, doc.title, labels)
    except pades.NotSignable as exc:
        raise Invalid("not_signable", "This PDF cannot be signed (damaged or encrypted).") from exc
    prepared_sha256 = await deps.blobs.put_bytes(prepared)

    request_id = str(uuid.uuid4())
    now = utcnow()
    async with deps.db.uow() as uow:
        if await _open_request_for(uow.session, document_id, version) is not None:
            raise Conflict("request_open", "A signature request for this version is already open.")
        await uow.session.execute(requests.insert().values(
            id=request_id, congress_id=doc.congress_id, document_id=document_id, version=version, title=doc.title,
            original_sha256=doc.sha256, prepared_sha256=prepared_sha256, current_sha256=prepared_sha256,
            state="open", requested_by=user.id, requested_by_username=user.username, message=model.nfc(message),
            due=due, created_at=now, updated_at=now, completion_certificate_sha256=None,
        ))
        for position, (person, role) in enumerate(people):
            await uow.session.execute(slots.insert().values(
                request_id=request_id, position=position, username=person.username, user_id=person.user_id,
                full_name=person.full_name, role=role, state="waiting",
            ))
        row = (await uow.session.execute(select(requests).where(requests.c.id == request_id))).first()
        await uow.emit(events.RequestCreated(
            request_id=request_id, document_id=document_id, version=version, sha256=doc.sha256,  # type: ignore[arg-type]
            prepared_sha256=prepared_sha256, title=doc.title,
            signers=[events.SignerSlot(username=p.username, role=role) for p, role in people],
            requested_by=user.username, message=model.nfc(message), due=due, actor=user.id,
            congress_id=uuid.UUID(doc.congress_id) if doc.congress_id else None,
        ))
        await _audit(uow, http, user, row, "requested", document_id=document_id, version=version)
    return await get_request(deps, user, request_id), True


async def _open_request_for(session: AsyncSession, document_id: str, version: int) -> tuple[Any, list[Any]] | None:
    row = (await session.execute(select(requests).where(
        requests.c.document_id == document_id, requests.c.version == version, requests.c.state == "open"))).first()
    if row is None:
        return None
    slot_rows = (await session.execute(
        select(slots).where(slots.c.request_id == row.id).order_by(slots.c.position))).all()
    return row, slot_rows


# --------------------------------------------------------------------------- signing


async def sign_request(deps: Deps, user: Principal, request_id: str, http: Request) -> dict[str, Any]:
    try:
        return await _sign_once(deps, user, request_id, http)
    except _Raced:
        # Another attempt of the same signer committed first (a double click, a retry): its result stands.
        async with deps.db.session() as session:
            row, slot_rows = await _load(session, request_id)
        if any(s.username == user.username and s.state == "signed" for s in slot_rows):
            return represent(row, slot_rows)
        raise


async def _sign_once(deps: Deps, user: Principal, request_id: str, http: Request) -> dict[str, Any]:
    async with deps.db.session() as session:
        row, slot_rows = await _load(session, request_id)
        await _ensure_visible(session, user, row, slot_rows)
    view = _view(row, slot_rows)
    mine = view.slot_of(user.username)
    if mine is not None and mine.state == "signed":
        return represent(row, slot_rows)  # a retry of a signature that happened: the first result
    slot = model.turn_of(view, user.username)
    require_recent_auth(user)

    async with deps.db.uow() as uow:
        cert_row = await ca_handlers.current_certificate(uow.session, slot_rows[slot.position].user_id)
        if cert_row is None:
            person = (await uow.session.execute(
                select(access.users).where(access.users.c.user_id == slot_rows[slot.position].user_id))).first()
            if person is None or not model.wants_certificate(person.roles, person.active):
                raise Conflict("no_certificate", "You have no valid signing certificate.")
            cert_row = await ca_handlers.ensure_person_certificate(
                deps, uow, person.user_id, person.username, person.full_name, person.organisation)
        authority = await ca_handlers.load_ca(deps, uow.session)
    anchors, _ = await ca_handlers.trust_anchors(deps)
    evidence = pades.Evidence(
        trust_roots=anchors.roots, other_certs=anchors.intermediates, crls=anchors.crls,
        timestamper=pades.timestamper_for(deps.settings.tsa_url), allow_fetching=bool(deps.settings.tsa_url),
        timestamp_roots=anchors.timestamp_roots if deps.settings.tsa_url else [],
    )
    signer = ca_handlers.document_signer(deps, cert_row, authority.chain)
    base_sha256 = row.current_sha256
    data = await deps.read_blob(base_sha256)
    code = model.new_verification_code()
    signed_at = utcnow()
    slot_row = slot_rows[slot.position]
    stamp_pdf = stamp.stamp_pdf(stamp.StampText(
        full_name=slot_row.full_name, role=slot.role, organisation=_organisation_of(cert_row),
        signed_at=signed_at, code=code, verify_url=f"{deps.settings.resolved_verify_base_url()}/verify/{code}",
    ))
    try:
        signed = await asyncio.to_thread(
            lambda: asyncio.run(pades.sign_pdf(data, slot.position, signer, stamp_pdf, evidence)))
    except pades.TimestampUnavailable as exc:
        log.warning("signing.timestamp_unavailable", error=str(exc))
        raise Unavailable("timestamp_unavailable",
                          "The timestamp authority does not answer. Please try again in a moment.") from exc
    finally:
        signer.close()
    signed_sha256 = await deps.blobs.put_bytes(signed)

    completing = view.is_last(slot)
    certificate_sha256 = None
    if completing:
        certificate_sha256 = await _completion_certificate(deps, row, slot_rows, slot.position, user, http,
                                                           signed_at, code, signed_sha256, cert_row.fingerprint_sha256)
    fault_point("signing.after_sign")

    async with deps.db.uow() as uow:
        moved = await uow.session.execute(
            update(requests).where(requests.c.id == request_id, requests.c.state == "open",
                                   requests.c.current_sha256 == base_sha256)
            .values(current_sha256=signed_sha256, updated_at=signed_at,
                    state="completed" if completing else "open",
                    completion_certificate_sha256=certificate_sha256))
        filled = await uow.session.execute(
            update(slots).where(and_(slots.c.request_id == request_id, slots.c.position == slot.position,
                                     slots.c.state == "waiting"))
            .values(state="signed", signed_at=signed_at, verification_code=code, signed_sha256=signed_sha256,
                    certificate_sha256=cert_row.fingerprint_sha256))
        if moved.rowcount != 1 or filled.rowcount != 1:
            raise _Raced()
        congress = uuid.UUID(row.congress_id) if row.congress_id else None
        await uow.emit(events.RequestSigned(
            request_id=request_id, document_id=row.document_id, signer=user.username,  # type: ignore[arg-type]
            signer_full_name=slot_row.full_name, role=slot.role, verification_code=code,
            signed_sha256=signed_sha256, certificate_sha256=cert_row.fingerprint_sha256, signed_at=signed_at,
            position=slot.position, actor=user.id, congress_id=congress,
        ))
        await _audit(uow, http, user, row, "signed", code=code, sha256=signed_sha256)
        if completing:
            await uow.emit(events.RequestCompleted(
                request_id=request_id, document_id=row.document_id, version=row.version,  # type: ignore[arg-type]
                final_sha256=signed_sha256, completion_certificate_sha256=certificate_sha256 or "",
                actor=user.id, congress_id=congress,
            ))
    return await get_request(deps, user, request_id)


class _Raced(Conflict):
    def __init__(self) -> None:
        super().__init__("request_changed", "The request changed while you were signing. Reload and try again.")


def _organisation_of(cert_row: Any) -> str:
    from signing import pki

    cert = pki.from_pem(cert_row.cert_pem)
    names = cert.subject.get_attributes_for_oid(pki.NameOID.ORGANIZATION_NAME)
    return str(names[0].value) if names else ""


async def _completion_certificate(deps: Deps, row: Any, slot_rows: list[Any], position: int, user: Principal,
                                  http: Request, signed_at: datetime, code: str, signed_sha256: str,
                                  fingerprint: str) -> str:
    async with deps.db.session() as session:
        trail = (await session.execute(
            select(audit).where(audit.c.request_id == row.id).order_by(audit.c.at))).all()
    people = [
        stamp.CompletionSigner(
            s.position, s.full_name, s.username, s.role,
            signed_at if s.position == position else s.signed_at,
            code if s.position == position else s.verification_code,
            fingerprint if s.position == position else s.certificate_sha256,
            signed_sha256 if s.position == position else s.signed_sha256,
        )
        for s in slot_rows
    ]
    events_ = [stamp.CompletionEvent(t.at, t.action, t.actor, t.ip, t.user_agent) for t in trail]
    events_.append(stamp.CompletionEvent(signed_at, "signed", user.username, audit_trail.client_ip(http),
                                         http.headers.get("user-agent", "")))
    pdf = await asyncio.to_thread(
        stamp.completion_certificate, request_id=row.id, title=row.title, organisation=deps.settings.organisation_name,
        original_sha256=row.original_sha256, prepared_sha256=row.prepared_sha256, final_sha256=signed_sha256,
        completed_at=signed_at, signers=people, trail=events_,
    )
    return await deps.blobs.put_bytes(pdf)


# --------------------------------------------------------------------------- rejecting, cancelling


async def reject_request(deps: Deps, user: Principal, request_id: str, reason: str, http: Request) -> dict[str, Any]:
    reason = model.nfc(reason)
    if not reason:
        raise Invalid("reason_required", "Please give a reason for rejecting.")
    async with deps.db.uow() as uow:
        row, slot_rows = await _load(uow.session, request_id)
        await _ensure_visible(uow.session, user, row, slot_rows)
        view = _view(row, slot_rows)
        mine = view.slot_of(user.username)
        if mine is not None and mine.state == "rejected":
            return represent(row, slot_rows)
        slot = model.turn_of(view, user.username)
        now = utcnow()
        await uow.session.execute(update(slots).where(
            slots.c.request_id == request_id, slots.c.position == slot.position).values(state="rejected", reason=reason))
        await uow.session.execute(update(requests).where(requests.c.id == request_id)
                                  .values(state="rejected", updated_at=now))
        await uow.emit(events.RequestRejected(
            request_id=request_id, document_id=row.document_id, signer=user.username, reason=reason,  # type: ignore[arg-type]
            actor=user.id, congress_id=uuid.UUID(row.congress_id) if row.congress_id else None,
        ))
        await _audit(uow, http, user, row, "rejected", reason=reason)
    return await get_request(deps, user, request_id)


async def cancel_request(deps: Deps, user: Principal, request_id: str, http: Request) -> dict[str, Any]:
    async with deps.db.uow() as uow:
        row, slot_rows = await _load(uow.session, request_id)
        await _ensure_visible(uow.session, user, row, slot_rows)
        if row.requested_by != user.id and not user.is_admin:
            raise Forbidden("not_requester", "Only the person who requested the signatures can cancel them.")
        if row.state == "cancelled":
            return represent(row, slot_rows)
        if row.state != "open":
            raise model.closed_error(row.state)
        await uow.session.execute(update(requests).where(requests.c.id == request_id, requests.c.state == "open")
                                  .values(state="cancelled", updated_at=utcnow()))
        await uow.emit(events.RequestCancelled(
            request_id=request_id, document_id=row.document_id, actor=user.id,  # type: ignore[arg-type]
            congress_id=uuid.UUID(row.congress_id) if row.congress_id else None,
        ))
        await _audit(uow, http, user, row, "cancelled")
    return await get_request(deps, user, request_id)
