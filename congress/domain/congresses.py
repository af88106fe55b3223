"""A congress: its fields, the quorum rule, and the draft → open → closed life cycle."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from runtime.errors import Conflict, Invalid

State = Literal["draft", "open", "closed"]

TEXT_FIELDS = ("title", "organisation", "unit", "venue")
MAX_TEXT = 300


def clean_text(value: str | None, limit: int = MAX_TEXT) -> str:
    """Vietnamese arrives composed or decomposed: keep one form (NFC), without edge spaces."""
    text = unicodedata.normalize("NFC", value or "").strip()
    if len(text) > limit:
        raise Invalid("text_too_long", "A text field is too long (at most {limit} characters).", limit=limit)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise Invalid("control_characters", "A text field contains control characters.")
    return text


@dataclass(frozen=True)
class CongressFields:
    title: str
    organisation: str
    unit: str
    venue: str
    starts_at: datetime | None
    ends_at: datetime | None
    quorum: float

    @classmethod
    def checked(cls, **values: object) -> "CongressFields":
        texts = {name: clean_text(values.get(name) or "") for name in TEXT_FIELDS}  # type: ignore[arg-type]
        if not texts["title"]:
            raise Invalid("title_required", "A congress needs a title.")
        quorum = float(values["quorum"])  # type: ignore[arg-type]
        if not 0 < quorum <= 1:
            raise Invalid("bad_quorum", "The quorum must be a fraction greater than 0 and at most 1.")
        starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
        for moment in (starts_at, ends_at):
            if moment is not None and moment.tzinfo is None:  # type: ignore[union-attr]
                raise Invalid("naive_time", "Times need a UTC offset (RFC 3339).")
        if starts_at and ends_at and ends_at < starts_at:  # type: ignore[operator]
            raise Invalid("ends_before_start", "A congress cannot end before it starts.")
        return cls(starts_at=starts_at, ends_at=ends_at, quorum=quorum, **texts)  # type: ignore[arg-type]


def quorum_reached(present: int, registered: int, quorum: float) -> bool:
    """Reached when present ≥ quorum × registered (and someone is registered)."""
    return registered > 0 and present >= quorum * registered


def ensure_writable(state: str) -> None:
    """A closed congress is a record: nothing of it changes any more."""
    if state == "closed":
        raise Conflict("congress_closed", "This congress is closed; it can no longer be changed.")


def next_state_on_open(state: str) -> State | None:
    """`open` on a draft opens it; on an open congress it is a repeat (None = nothing to do)."""
    ensure_writable(state)
    return "open" if state == "draft" else None
