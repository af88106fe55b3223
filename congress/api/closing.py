"""HTTP → closing a congress: `POST /api/congresses/{id}/close` and the open signature requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from congress.api.congress_deps import Runtime, Secretary
from congress.handlers import closing as use
from congress.handlers.congresses import staff_congress
from runtime import audit, i18n
from runtime.auth import StaffRoute
from runtime.service import language_of

router = APIRouter(prefix="/api/congresses/{congress_id}", tags=["closing"], route_class=StaffRoute)


@router.post("/close")
async def close_congress(congress_id: str, user: Secretary, runtime: Runtime, request: Request) -> JSONResponse:
    """409 listing the open signature requests; otherwise closed (a repeat answers 200 the same)."""
    try:
        async with runtime.db.uow() as uow:
            closed, now = await use.close_congress(uow, user, congress_id)
            if now:
                await audit.record(uow, request, user, "congress.closed", f"congress:{congress_id}", congress_id)
    except use.OpenRequests as refused:
        message = i18n.gettext(refused.message, language_of(request), **refused.params)
        return JSONResponse({"error": {"code": refused.code, "message": message}, "open_requests": refused.items},
                            status_code=409)
    return JSONResponse(closed)


@router.get("/signature-requests")
async def signature_requests(congress_id: str, user: Secretary, runtime: Runtime) -> dict[str, Any]:
    """The requests the signing service announced for this congress that are still open."""
    async with runtime.db.session() as session:
        await staff_congress(session, user, congress_id)
        return {"items": await use.open_requests(session, congress_id), "next": None}
