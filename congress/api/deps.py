"""Dependencies the congress routers share: the runtime, the admin check, bound audit recorders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from congress.handlers.common import Audit, AuditAs
from runtime import audit
from runtime.auth import Principal, require_roles
from runtime.service import ServiceRuntime

AdminUser = Annotated[Principal, Depends(require_roles("admin"))]
SecretaryUser = Annotated[Principal, Depends(require_roles("secretary"))]


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]


def audit_for(request: Request, principal: Principal | None) -> Audit:
    """An audit recorder bound to this request and caller (see runtime.audit.record)."""

    async def bound(uow: Any, action: str, target: str = "", congress_id: Any = None, **detail: Any) -> None:
        await audit.record(uow, request, principal, action, target, congress_id, **detail)

    return bound


def audit_as(request: Request) -> AuditAs:
    async def bound(uow: Any, principal: Principal | None, action: str, target: str = "", congress_id: Any = None,
                    **detail: Any) -> None:
        await audit.record(uow, request, principal, action, target, congress_id, **detail)

    return bound
