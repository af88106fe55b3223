"""Uploading a document, or a new version of one: check everything first, then store once.

Order matters for "nothing stored on failure": the form fields, the caller's access, the
agenda item, the file type against the kind and the PDF itself are all checked before any
byte reaches the Object Store; the version row and its DocumentUploaded event then commit
together. A crash between the blob and the row leaves only an unreferenced blob, which a
retry of the same upload reuses (blobs are named by their sha256).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

import contracts.documents as events
from documents import model
from documents.db import access, agenda_items, congresses, documents, versions
from documents.handlers import Deps
from documents.handlers.read_documents import document_view, load_document, version_rows
from documents.pdf_inspection import PdfRefused, inspect_pdf_isolated
from runtime.auth import Principal
from runtime.db import utcnow
from runtime.errors import Conflict, Invalid, NotFound
from runtime.faults import fault_point
from runtime.pdf import nfc
from runtime.uploads import ReceivedFile, ReceivedForm

MAX_TITLE = 500


@dataclass(frozen=True)
class Accepted:
    file: ReceivedFile
    pages: int
    text: str | None


def _uuid_field(fields: dict[str, str], name: str, required: bool) -> str | None:
    raw = fields.get(name, "").strip()
    if not raw:
        if required:
            raise Invalid("field_required", "The field '{field}' is required.", field=name)
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise Invalid("field_invalid", "The field '{field}' is not valid.", field=name) from exc


def _title(fields: dict[str, str], required: bool) -> str | None:
    title = " ".join(nfc(fields.get("title", "")).split())
    if not title:
        if required:
            raise Invalid("field_required", "The field '{field}' is required.", field="title")
        return None
    if len(title) > MAX_TITLE:
        raise Invalid("field_too_long", "The field '{field}' is too long.", field="title")
    return title


def _file(form: ReceivedForm) -> ReceivedFile:
    if form.file is None:
        raise Invalid("file_required", "Choose a file to upload.")
    if form.file.size == 0:
        raise Invalid("file_empty", "The file is empty.")
    return form.file


async def _accept(deps: Deps, file: ReceivedFile, kind: str) -> Accepted:
    """The file suits the kind and, for a PDF, opens, is not encrypted and is not a bomb."""
    if not model.file_type_allowed(kind, file.type.name):
        if kind == "video":
            raise Invalid("video_needs_mp4", "A video document must be an MP4 file.")
        raise Invalid("document_needs_pdf", "A document of this kind must be a PDF file.")
    if file.type.name != "pdf":
        return Accepted(file, pages=0, text=None)
    async with deps.pdf_slots:
        try:
            found = await inspect_pdf_isolated(file.path, deps.pdf_limits)
        except PdfRefused as exc:
            raise Invalid(exc.code, exc.message, **exc.params) from exc
    return Accepted(file, pages=found.pages, text=found.text)


async def _store_blob(deps: Deps, accepted: Accepted) -> None:
    await deps.blobs.put_file(accepted.file.path, accepted.file.sha256)
    fault_point("documents.after_blob_put")


def _version_row(document_id: str, number: int, accepted: Accepted, user: Principal) -> dict[str, Any]:
    file = accepted.file
    return dict(
        document_id=document_id, version=number, sha256=file.sha256, size=file.size, pages=accepted.pages,
        content_type=file.type.content_type, file_name=file.display_name or f"document{file.type.extension}",
        text=accepted.text, status=model.DRAFT, signed=False, created_by=user.id, created_at=utcnow(),
    )


def _uploaded_event(doc: Any, row: dict[str, Any], user: Principal) -> events.DocumentUploaded:
    return events.DocumentUploaded(
        congress_id=uuid.UUID(doc["congress_id"]), document_id=uuid.UUID(doc["id"]), version=row["version"],
        sha256=row["sha256"], size=row["size"], pages=row["pages"], kind=doc["kind"], title=doc["title"],
        content_type=row["content_type"],
        agenda_item_id=uuid.UUID(doc["agenda_item_id"]) if doc["agenda_item_id"] else None, actor=user.id,
    )


def _created(view: dict[str, Any], version: int) -> dict[str, Any]:
    """The document as stored, with the new version's facts at the top (what an uploader checks)."""
    new = next(v for v in view["versions"] if v["version"] == version)
    return {**view, **{k: new[k] for k in ("version", "sha256", "size", "pages", "content_type", "file_name")},
            "status": new["status"]}


async def upload_document(deps: Deps, user: Principal, form: ReceivedForm) -> dict[str, Any]:
    """A new document with its first version (draft). The caller discards the temp file after."""
    fields = form.fields
    congress_id = _uuid_field(fields, "congress_id", required=True)
    title = _title(fields, required=True)
    kind = fields.get("kind", "").strip()
    if kind not in model.KINDS:
        raise Invalid("field_invalid", "The field '{field}' is not valid.", field="kind")
    agenda_item_id = _uuid_field(fields, "agenda_item_id", required=False)
    file = _file(form)

    async with deps.db.session() as session:
        congress = (await session.execute(select(congresses).where(congresses.c.id == congress_id))).first()
        if congress is None or not await access.is_staff(session, user, congress_id):
            raise NotFound("not_found", "Not found.")
        if congress.closed_at is not None:
            raise Conflict("congress_closed", "This congress is closed; its documents can no longer change.")
        if agenda_item_id is not None:
            known = await session.scalar(
                select(agenda_items.c.id).where(agenda_items.c.id == agenda_item_id,
                                                agenda_items.c.congress_id == congress_id)
            )
            if known is None:
                raise Invalid("unknown_agenda_item", "This agenda item is not on the congress's agenda.")

    accepted = await _accept(deps, file, kind)
    await _store_blob(deps, accepted)
    now = utcnow()
    doc = dict(id=str(uuid.uuid4()), congress_id=congress_id, title=title, kind=kind,
               agenda_item_id=agenda_item_id, created_by=user.id, created_at=now, updated_at=now)
    row = _version_row(doc["id"], 1, accepted, user)
    async with deps.db.uow() as uow:
        await uow.session.execute(documents.insert().values(**doc))
        await uow.session.execute(versions.insert().values(**row))
        await uow.emit(_uploaded_event(doc, row, user))
    deps.blobs.adopt_into_cache(file.path, file.sha256)
    return await _view_after_write(deps, user, doc["id"], 1)


async def add_version(deps: Deps, user: Principal, document_id: str, form: ReceivedForm) -> tuple[dict[str, Any], bool]:
    """A new draft version; returns (view, created). The same bytes as the latest version again
    is a repeated upload: nothing new, the existing version is returned."""
    file = _file(form)
    async with deps.db.session() as session:
        doc = await load_document(session, user, document_id)
        closed = await session.scalar(select(congresses.c.closed_at).where(congresses.c.id == doc.congress_id))
        if closed is not None:
            raise Conflict("congress_closed", "This congress is closed; its documents can no longer change.")
        rows = await version_rows(session, doc.id)
    if rows and rows[-1].sha256 == file.sha256:
        return document_view(doc, rows) | _latest_fields(rows[-1]), False
    try:
        model.check_can_add_version([r.status for r in rows])
    except model.RuleBroken as exc:
        raise Conflict(exc.code, exc.message) from exc

    accepted = await _accept(deps, file, doc.kind)
    await _store_blob(deps, accepted)
    async with deps.db.uow() as uow:
        # Numbered inside the write transaction: concurrent uploads cannot take the same number.
        current = await uow.session.scalar(
            select(func.max(versions.c.version)).where(versions.c.document_id == doc.id)
        )
        statuses = (await uow.session.scalars(
            select(versions.c.status).where(versions.c.document_id == doc.id)
        )).all()
        try:
            model.check_can_add_version(list(statuses))
        except model.RuleBroken as exc:
            raise Conflict(exc.code, exc.message) from exc
        number = (current or 0) + 1
        row = _version_row(doc.id, number, accepted, user)
        await uow.session.execute(versions.insert().values(**row))
        await uow.session.execute(documents.update().where(documents.c.id == doc.id).values(updated_at=utcnow()))
        await uow.emit(_uploaded_event(doc._asdict(), row, user))
    deps.blobs.adopt_into_cache(file.path, file.sha256)
    return await _view_after_write(deps, user, doc.id, number), True


def _latest_fields(row: Any) -> dict[str, Any]:
    return {"version": row.version, "sha256": row.sha256, "size": row.size, "pages": row.pages,
            "content_type": row.content_type, "file_name": row.file_name, "status": row.status}


async def _view_after_write(deps: Deps, user: Principal, document_id: str, version: int) -> dict[str, Any]:
    async with deps.db.session() as session:
        doc = await load_document(session, user, document_id)
        return _created(document_view(doc, await version_rows(session, doc.id)), version)
