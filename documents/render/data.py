"""What the renderers draw: plain frozen records, filled from the service's copies of events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CongressSheet:
    title: str
    organisation: str = ""
    unit: str = ""
    venue: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    quorum: float = 0.5


@dataclass(frozen=True)
class AgendaLine:
    position: int
    title: str
    description: str = ""


@dataclass(frozen=True)
class DelegateLine:
    full_name: str
    unit: str = ""
    delegate_type: str = ""
    checked_in_at: datetime | None = None


@dataclass(frozen=True)
class SignatureLine:
    full_name: str
    role: str
    signed_at: datetime


@dataclass(frozen=True)
class DocumentLine:
    title: str
    kind: str
    version: int
    status: str
    agenda_position: int | None = None
    approved_via: str | None = None
    signatures: tuple[SignatureLine, ...] = field(default_factory=tuple)
