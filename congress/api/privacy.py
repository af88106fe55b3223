"""HTTP → a delegate's personal data (Decree 13/2023): export and erase, admin only, audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from congress.api.deps import AdminUser
from congress.api.congress_deps import Runtime
from congress.handlers import privacy as use
from runtime import audit
from runtime.auth import StaffRoute

router = APIRouter(prefix="/api/congresses/{congress_id}/delegates/{delegate_id}", tags=["personal data"],
                   route_class=StaffRoute)


@router.get("/personal-data")
async def export_personal_data(congress_id: str, delegate_id: str, user: AdminUser, runtime: Runtime,
                               request: Request) -> dict[str, Any]:
    async with runtime.db.session() as session:
        exported = await use.export_personal_data(session, user, congress_id, delegate_id)
    async with runtime.db.uow() as uow:  # the export is an act of its own: recorded after it succeeded
        await audit.record(uow, request, user, "delegate.personal_data_exported", f"delegate:{delegate_id}",
                           congress_id)
    return exported


@router.post("/erase-personal-data")
async def erase_personal_data(congress_id: str, delegate_id: str, user: AdminUser, runtime: Runtime,
                              request: Request) -> dict[str, Any]:
    async with runtime.db.uow() as uow:
        erased = await use.erase_personal_data(uow, user, congress_id, delegate_id)
        await audit.record(uow, request, user, "delegate.personal_data_erased", f"delegate:{delegate_id}",
                           congress_id, changed=erased["erased"])
    return erased
