"""What several use cases share: the KV bucket of shared facts and the JSON shape of a user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import RowMapping

from contracts.streams import SHARED_KV_BUCKET
from runtime.auth import REVOKED_PREFIX
from runtime.errors import Unavailable
from runtime.service import ServiceRuntime


async def shared_kv(runtime: ServiceRuntime) -> Any:
    """The `shared` KV bucket; 503 while NATS is not up yet (nothing may be issued unannounced)."""
    if not runtime.nats_ready:
        raise Unavailable("unavailable", "The service is temporarily unavailable. Please try again in a moment.",
                          headers={"Retry-After": "5"})
    kv = runtime.extras.get("shared_kv")
    if kv is None:
        kv = runtime.extras["shared_kv"] = await runtime.js.key_value(SHARED_KV_BUCKET)
    return kv


def user_json(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "full_name": row["full_name"],
        "email": row["email"],
        "organisation": row["organisation"],
        "roles": list(row["roles"]),
        "active": row["active"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "password_changed_at": row["password_changed_at"].isoformat(),
    }


Audit = Callable[..., Awaitable[None]]
"""`await audit(uow, action, target="", congress_id=None, **detail)`: records the staff action in the
same transaction (bound by the API layer to the request and the caller: runtime.audit.record)."""

AuditAs = Callable[..., Awaitable[None]]
"""`await audit_as(uow, principal_or_none, action, ...)`: the same, for actions whose actor is
only known inside the use case (log in)."""


async def revoke(kv: Any, kind: str, ident: str, value: str = "1") -> None:
    """Put a revocation in KV: every service's verifier refuses the tokens at once."""
    await kv.put(f"{REVOKED_PREFIX}{kind}.{ident}", value.encode())
