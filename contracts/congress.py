"""Events published by the congress service (subjects `congress.<aggregate>.<action>`).

Delegates' phones and emails never travel in an event (Decree 13/2023): the congress
service alone holds them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import Event

PRODUCER = "congress"

Role = Literal["admin", "secretary", "signer", "archivist"]


class UserCreated(Event):
    user_id: uuid.UUID
    username: str
    full_name: str
    roles: list[Role]
    organisation: str = ""


class UserUpdated(Event):
    user_id: uuid.UUID
    username: str
    full_name: str
    roles: list[Role]
    active: bool = True
    organisation: str = ""


class UserDeactivated(Event):
    user_id: uuid.UUID
    username: str


class StaffAdded(Event):
    user_id: uuid.UUID
    username: str


class StaffRemoved(Event):
    user_id: uuid.UUID
    username: str


class CongressCreated(Event):
    title: str
    organisation: str
    unit: str
    venue: str
    starts_at: datetime | None
    ends_at: datetime | None
    quorum: float


class CongressUpdated(Event):
    title: str
    organisation: str
    unit: str
    venue: str
    starts_at: datetime | None
    ends_at: datetime | None
    quorum: float


class CongressOpened(Event):
    pass


class CongressClosed(Event):
    registered: int
    present: int
    quorum: float
    quorum_reached: bool


class AgendaItem(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: uuid.UUID
    position: int
    title: str
    description: str = ""


class AgendaChanged(Event):
    items: list[AgendaItem]


class DelegateRegistered(Event):
    delegate_id: uuid.UUID
    full_name: str
    unit: str
    delegate_type: str


class DelegateUpdated(Event):
    delegate_id: uuid.UUID
    full_name: str
    unit: str
    delegate_type: str


class DelegateRemoved(Event):
    delegate_id: uuid.UUID


class DelegateSecretsReissued(Event):
    """A lost badge or slip: the delegate's check-in code and personal link were replaced and the
    old ones stopped working. The secrets themselves never travel."""

    delegate_id: uuid.UUID


class DelegateCheckedIn(Event):
    delegate_id: uuid.UUID
    checked_in_at: datetime


class DelegateCheckinUndone(Event):
    delegate_id: uuid.UUID
    reason: str


class DocumentPublished(Event):
    publication_id: uuid.UUID
    document_id: uuid.UUID
    version: int
    sha256: str
    title: str
    agenda_item_id: uuid.UUID | None
    audience: Literal["public", "delegates"]


class DocumentRevoked(Event):
    publication_id: uuid.UUID
    document_id: uuid.UUID


class DocumentViewed(Event):
    """Views of one publication aggregated over a short window (not one event per view)."""

    publication_id: uuid.UUID
    document_id: uuid.UUID
    views: int
    unique_delegates: int
    window_start: datetime
    window_end: datetime


class AuditRecorded(Event):
    action: str
    actor_username: str = ""
    target: str = ""
    ip: str = ""
    user_agent: str = ""
    detail: dict[str, str] = {}
