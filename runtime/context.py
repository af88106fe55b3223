"""Request and event context carried in contextvars: who acts, and which request or event caused it."""

from __future__ import annotations

import contextvars
import uuid

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
causation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("causation_id", default=None)
actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("actor", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex
