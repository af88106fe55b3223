"""Events published by the documents service (subjects `documents.<aggregate>.<action>`)."""

from __future__ import annotations

import uuid
from typing import Literal

from contracts.base import Event

PRODUCER = "documents"

DocumentKind = Literal["report", "resolution", "minutes", "reference", "video"]


class DocumentUploaded(Event):
    document_id: uuid.UUID
    version: int
    sha256: str
    size: int
    pages: int
    kind: DocumentKind
    title: str
    content_type: str
    agenda_item_id: uuid.UUID | None = None


class DocumentApproved(Event):
    document_id: uuid.UUID
    version: int
    sha256: str
    title: str
    kind: DocumentKind
    pages: int
    method: Literal["signatures", "secretary"]
    request_id: uuid.UUID | None = None


class ArchiveSealRequested(Event):
    record_id: uuid.UUID
    manifest_sha256: str
    """The seal manifest's bytes are in the blob Object Store under this name."""


class ArchiveSealed(Event):
    record_id: uuid.UUID
    package_sha256: str
    chain_head: str


class ArchiveFixityChecked(Event):
    record_id: uuid.UUID
    intact: bool
    problems: list[str] = []


class AuditRecorded(Event):
    action: str
    actor_username: str = ""
    target: str = ""
    ip: str = ""
    user_agent: str = ""
    detail: dict[str, str] = {}
