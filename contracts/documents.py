"""Events published by the documents service (subjects `documents.<aggregate>.<action>`)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

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


class ImportedSignature(BaseModel):
    model_config = ConfigDict(frozen=True)
    verification_code: str
    signer_full_name: str
    role: str
    signed_at: str | None = None
    document_title: str
    signed_sha256: str
    """The blob the code names (the document's final signed revision), stored in the Object Store."""


class ArchiveImported(Event):
    """A sealed package from another installation was verified and filed here (read-only).

    The signing service keeps the codes so that /verify/{code} works at this installation too,
    and trusts `ca_pem` (the CA that verified the package) when it validates those blobs."""

    record_id: uuid.UUID
    package_sha256: str
    organisation: str
    title: str
    ca_pem: str
    signatures: list[ImportedSignature] = []


class AuditRecorded(Event):
    action: str
    actor_username: str = ""
    target: str = ""
    ip: str = ""
    user_agent: str = ""
    detail: dict[str, str] = {}
