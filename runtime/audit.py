"""The audit trail, written by the service that serves the staff action.

    await audit.record(uow, request, principal, "user.created", target=f"user:{user_id}", username="lan")

stages the producing service's own `AuditRecorded` event in the same transaction as the
action (so an action is never recorded without happening, nor happens unrecorded). The
congress service gathers `<service>.audit.recorded` from every stream into one trail that an
admin reads at `GET /api/audit`.

The client IP is `request.client.host`: uvicorn runs with --proxy-headers and trusts only the
local Caddy, so behind it this is the real client, and a client cannot forge it.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request

from runtime.auth import Principal
from runtime.db import UnitOfWork

USER_AGENT_MAX = 300
DETAIL_VALUE_MAX = 500


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def record(
    uow: UnitOfWork,
    request: Request,
    principal: Principal | None,
    action: str,
    target: str = "",
    congress_id: str | uuid.UUID | None = None,
    **detail: Any,
) -> None:
    """Stage an AuditRecorded event of this service: who did what to what, from where."""
    events = request.app.state.runtime.publishes  # this service's contracts module
    await uow.emit(
        events.AuditRecorded(
            action=action,
            target=target,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", "")[:USER_AGENT_MAX],
            detail={key: str(value)[:DETAIL_VALUE_MAX] for key, value in detail.items() if value is not None},
            actor=principal.id if principal else None,
            actor_username=principal.username if principal else "",
            congress_id=uuid.UUID(str(congress_id)) if congress_id else None,
        )
    )
