"""Reading documents: one with its versions, a congress's list, the version a download serves."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from documents import model
from documents.db import access, documents, versions
from documents.handlers import Deps
from runtime.auth import Principal
from runtime.errors import Invalid, NotFound

NOT_FOUND = ("not_found", "Not found.")
VIEW_COLUMNS = [c for c in versions.c if c.name != "text"]  # the extracted text can be megabytes


def version_view(row: Any) -> dict[str, Any]:
    return {
        "version": row.version,
        "sha256": row.sha256,
        "size": row.size,
        "pages": row.pages,
        "content_type": row.content_type,
        "file_name": row.file_name,
        "status": row.status,
        "signed": bool(row.signed),
        "approved_via": row.approved_via,
        "approved_at": _time(row.approved_at),
        "request_id": row.request_id,
        "source_version": row.source_version,
        "created_at": _time(row.created_at),
    }


def document_view(doc: Any, version_rows: list[Any], with_versions: bool = True) -> dict[str, Any]:
    statuses = [(v.version, v.status) for v in version_rows]
    latest = version_rows[-1] if version_rows else None
    view: dict[str, Any] = {
        "id": doc.id,
        "congress_id": doc.congress_id,
        "title": doc.title,
        "kind": doc.kind,
        "agenda_item_id": doc.agenda_item_id,
        "status": model.document_status([s for _, s in statuses]),
        "latest_version": latest.version if latest else None,
        "approved_version": model.latest_approved(statuses),
        "created_at": _time(doc.created_at),
        "updated_at": _time(doc.updated_at),
    }
    if with_versions:
        view["versions"] = [version_view(v) for v in version_rows]
    elif latest is not None:
        view["latest"] = version_view(latest)
    return view


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def load_document(session: AsyncSession, user: Principal, document_id: str) -> Any:
    """The document if the user is staff of its congress; 404 otherwise (existence not leaked)."""
    doc = (await session.execute(select(documents).where(documents.c.id == document_id))).first()
    if doc is None or not await access.is_staff(session, user, doc.congress_id):
        raise NotFound(*NOT_FOUND)
    return doc


async def version_rows(session: AsyncSession, document_id: str) -> list[Any]:
    result = await session.execute(
        select(*VIEW_COLUMNS)
        .where(versions.c.document_id == document_id)
        .order_by(versions.c.version)
    )
    return list(result.all())


async def get_document(deps: Deps, user: Principal, document_id: str) -> dict[str, Any]:
    async with deps.db.session() as session:
        doc = await load_document(session, user, document_id)
        return document_view(doc, await version_rows(session, doc.id))


def _encode_cursor(created_at: datetime, doc_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), doc_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, doc_id = json.loads(raw)
        return datetime.fromisoformat(created_at), str(doc_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise Invalid("invalid_cursor", "The page cursor is not valid.") from exc


async def list_documents(deps: Deps, user: Principal, congress_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
    async with deps.db.session() as session:
        await access.ensure_staff(session, user, congress_id)
        query = select(documents).where(documents.c.congress_id == congress_id)
        if cursor:
            after_time, after_id = _decode_cursor(cursor)
            query = query.where(
                or_(documents.c.created_at > after_time,
                    and_(documents.c.created_at == after_time, documents.c.id > after_id))
            )
        rows = list((await session.execute(query.order_by(documents.c.created_at, documents.c.id).limit(limit + 1))).all())
        page, more = rows[:limit], len(rows) > limit
        items = [document_view(doc, await version_rows(session, doc.id), with_versions=False) for doc in page]
    return {"items": items, "next": _encode_cursor(page[-1].created_at, page[-1].id) if more else None}


@dataclass(frozen=True)
class Download:
    sha256: str
    size: int
    content_type: str
    file_name: str
    fixed_version: bool


async def file_to_download(deps: Deps, user: Principal, document_id: str, version: int | None) -> Download:
    """The bytes a download serves: the version asked for, else the latest approved one."""
    async with deps.db.session() as session:
        doc = await load_document(session, user, document_id)
        rows = await version_rows(session, doc.id)
    if version is None:
        chosen = model.latest_approved([(v.version, v.status) for v in rows])
        if chosen is None:
            raise NotFound("no_approved_version", "This document has no approved version yet.")
    else:
        chosen = version
    row = next((v for v in rows if v.version == chosen), None)
    if row is None:
        raise NotFound(*NOT_FOUND)
    extension = ".mp4" if row.content_type == "video/mp4" else ".pdf"
    return Download(
        sha256=row.sha256,
        size=row.size,
        content_type=row.content_type,
        file_name=model.download_name(doc.title, extension),
        fixed_version=version is not None,
    )
