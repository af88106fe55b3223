"""Events published by the signing service (subjects `signing.<aggregate>.<action>`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import Event

PRODUCER = "signing"


class SignerSlot(BaseModel):
    model_config = ConfigDict(frozen=True)
    username: str
    role: Literal["approver", "signer"]


class RequestCreated(Event):
    request_id: uuid.UUID
    document_id: uuid.UUID
    version: int
    sha256: str
    signers: list[SignerSlot]
    requested_by: str
    message: str = ""
    due: datetime | None = None
    prepared_sha256: str = ""
    """The blob signers sign: the original plus the signature page and an empty field per signer."""
    title: str = ""


class RequestSigned(Event):
    request_id: uuid.UUID
    document_id: uuid.UUID
    signer: str
    signer_full_name: str
    role: Literal["approver", "signer"]
    verification_code: str
    signed_sha256: str
    certificate_sha256: str
    signed_at: datetime
    position: int = 0


class RequestRejected(Event):
    request_id: uuid.UUID
    document_id: uuid.UUID
    signer: str
    reason: str


class RequestCancelled(Event):
    request_id: uuid.UUID
    document_id: uuid.UUID


class RequestCompleted(Event):
    request_id: uuid.UUID
    document_id: uuid.UUID
    version: int | None = None
    """The version that was signed; the final blob (final_sha256) becomes the approved one."""
    final_sha256: str
    completion_certificate_sha256: str


class CertificateIssued(Event):
    user_id: uuid.UUID
    username: str
    fingerprint_sha256: str


class CertificateRevoked(Event):
    user_id: uuid.UUID
    username: str
    fingerprint_sha256: str


class SealApplied(Event):
    record_id: uuid.UUID
    manifest_sha256: str
    signature_sha256: str
    """The detached CMS signature (DER) is in the blob Object Store under this name."""
    timestamp_token_sha256: str | None = None


class AuditRecorded(Event):
    action: str
    actor_username: str = ""
    target: str = ""
    ip: str = ""
    user_agent: str = ""
    detail: dict[str, str] = {}
