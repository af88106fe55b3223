"""HTTP → the door: `/api/congresses/{id}/checkins…`, the desk's name search, the attendance and
its live stream for dashboards."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sse_starlette.sse import EventSourceResponse

from congress.api.congress_deps import Runtime, Secretary
from congress.attendance_live import Snapshots
from congress.handlers import checkins as use
from congress.handlers.attendance import day_summary
from congress.handlers.congresses import staff_congress
from congress.live import LiveFeed
from congress.pages.console.chart import checkins_chart
from congress.pages.templating import language
from runtime import audit, i18n
from runtime.auth import StaffRoute

router = APIRouter(prefix="/api/congresses/{congress_id}", tags=["check-in"], route_class=StaffRoute)


class CheckinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str | None = Field(None, max_length=100)
    delegate_id: str | None = Field(None, max_length=36)
    method: str = Field("api", pattern="^(badge|desk|api)$")

    @model_validator(mode="after")
    def one_of(self) -> "CheckinIn":
        if not self.code and not self.delegate_id:
            raise ValueError("give code or delegate_id")
        return self


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


@router.post("/checkins")
async def check_in(congress_id: str, body: CheckinIn, user: Secretary, runtime: Runtime) -> JSONResponse:
    """201 the first time; 200 with the first check-in's time on every repeat."""
    async with runtime.db.uow() as uow:
        result = await use.check_in(uow, user, congress_id, code=body.code, delegate_id=body.delegate_id,
                                    method=body.method)
    return JSONResponse(result.as_json(), status_code=201 if result.created else 200)


@router.post("/checkins/{delegate_id}/undo")
async def undo_check_in(congress_id: str, delegate_id: str, body: UndoIn, user: Secretary, runtime: Runtime,
                        request: Request) -> dict[str, Any]:
    async with runtime.db.uow() as uow:
        result = await use.undo_check_in(uow, user, congress_id, delegate_id, body.reason)
        if result["undone"]:
            await audit.record(uow, request, user, "checkin.undone", f"delegate:{delegate_id}", congress_id,
                               reason=result["reason"])
    return result


@router.get("/checkins/candidates")
async def desk_search(congress_id: str, user: Secretary, runtime: Runtime,
                      q: str = Query("", max_length=200)) -> dict[str, Any]:
    """The desk's fallback for a forgotten badge: diacritics-insensitive search by name."""
    async with runtime.db.session() as session:
        await staff_congress(session, user, congress_id)
        return {"items": await use.search_delegates(session, congress_id, q), "next": None}


@router.get("/attendance")
async def attendance(congress_id: str, user: Secretary, runtime: Runtime) -> dict[str, Any]:
    async with runtime.db.session() as session:
        await staff_congress(session, user, congress_id)
        return await day_summary(session, congress_id)


def chart_for(snapshot: dict[str, Any], lang: str) -> str:
    return checkins_chart(snapshot["bars"], i18n.gettext("Check-ins over time", lang),
                          i18n.gettext("No one has checked in yet.", lang))


@router.get("/attendance/events")
async def attendance_events(congress_id: str, user: Secretary, runtime: Runtime, request: Request) -> Response:
    """Server-sent events: `attendance` with the numbers (and the chart) now and after each change."""
    async with runtime.db.session() as session:
        congress = await staff_congress(session, user, congress_id)
    congress_id = congress.id
    feed: LiveFeed = runtime.extras["attendance_feed"]
    snapshots: Snapshots = runtime.extras["attendance_snapshots"]
    lang = language(request)
    queue = feed.listen(congress_id)

    async def stream():  # type: ignore[no-untyped-def]
        try:
            while True:
                snapshot = await snapshots.get(congress_id)
                payload = {k: v for k, v in snapshot.items() if k != "bars"} | {"chart_svg": chart_for(snapshot, lang)}
                yield {"event": "attendance", "data": json.dumps(payload, ensure_ascii=False)}
                await queue.get()
        finally:
            feed.leave(congress_id, queue)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
