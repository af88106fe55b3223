"""The event envelope and how a subject is derived from an event class."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

_WORDS = re.compile(r"[A-Z][a-z0-9]*")

# producer -> {subject -> class}; filled as event classes are defined.
_REGISTRY: dict[str, type["Event"]] = {}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """Every event: a small frozen record, named in the past tense.

    The subject is `<producer>.<aggregate>.<action>`: the producer is the module's
    `PRODUCER`, the aggregate the first word of the class name, the action the rest in
    snake_case (`DelegateCheckedIn` in contracts.congress -> `congress.delegate.checked_in`).
    The schema version travels in the `Event-Version` header; a consumer refuses (dead-letters)
    a version it does not know.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    producer: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    subject: ClassVar[str] = ""

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=_utcnow)
    correlation_id: str = ""
    causation_id: str | None = None
    actor: str | None = None
    congress_id: uuid.UUID | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        module = __import__(cls.__module__, fromlist=["PRODUCER"])
        producer = getattr(module, "PRODUCER", "")
        if not producer:
            return  # abstract helpers outside a producer module
        words = _WORDS.findall(cls.__name__)
        if len(words) < 2:
            raise TypeError(f"event class {cls.__name__} needs an aggregate and an action")
        cls.producer = producer
        cls.subject = ".".join([producer, words[0].lower(), "_".join(w.lower() for w in words[1:])])
        if cls.subject in _REGISTRY and _REGISTRY[cls.subject] is not cls:
            raise TypeError(f"two event classes for {cls.subject}")
        _REGISTRY[cls.subject] = cls

    def headers(self) -> dict[str, str]:
        headers = {
            "Nats-Msg-Id": str(self.event_id),
            "Event-Type": self.subject,
            "Event-Version": str(self.schema_version),
            "Correlation-Id": self.correlation_id,
        }
        if self.congress_id:
            headers["Congress-Id"] = str(self.congress_id)
        return headers

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def subject_of(event_cls: type[Event]) -> str:
    return event_cls.subject


def event_class_for(subject: str) -> type[Event] | None:
    _load_all()
    return _REGISTRY.get(subject)


def _load_all() -> None:
    import contracts.congress  # noqa: F401
    import contracts.documents  # noqa: F401
    import contracts.signing  # noqa: F401
