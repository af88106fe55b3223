"""Console pages of the day: the check-in desk (name search, camera scanning where the browser
allows it) and the attendance dashboard (live by server-sent events)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from congress.api.checkins import chart_for
from congress.handlers import checkins as checkin_use
from congress.pages.console.actions import congress_action, congress_page
from congress.pages.templating import language
from runtime import audit

router = APIRouter(prefix="/console/congresses/{congress_id}", include_in_schema=False)


def _desk_context(query: str):  # type: ignore[no-untyped-def]
    async def load(session: Any, user: Any, congress: Any) -> dict[str, Any]:
        found = await checkin_use.search_delegates(session, congress.id, query, limit=30) if query else []
        return {"query": query, "found": found}
    return load


@router.get("/desk")
async def desk(request: Request, congress_id: str) -> Response:
    query = request.query_params.get("q", "")[:200]
    return await congress_page(request, congress_id, "console/desk.html", _desk_context(query))


def _back_to_desk(congress_id: str, query: str, done: str) -> str:
    return f"/console/congresses/{congress_id}/desk?q={quote(query)}&done={done}"


@router.post("/desk/checkin")
async def desk_check_in(request: Request, congress_id: str) -> Response:
    form = await request.form() if request.headers.get("content-type", "").startswith("application/x-www") else {}
    query = str(form.get("q", ""))[:200]

    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        await checkin_use.check_in(uow, user, congress_id, delegate_id=fields.get("delegate_id", ""), method="desk")

    return await congress_action(request, congress_id, work, _back_to_desk(congress_id, query, "checked_in"),
                                 "console/desk.html", _desk_context(query))


@router.post("/desk/undo")
async def desk_undo(request: Request, congress_id: str) -> Response:
    form = await request.form() if request.headers.get("content-type", "").startswith("application/x-www") else {}
    query = str(form.get("q", ""))[:200]

    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        delegate_id = fields.get("delegate_id", "")
        result = await checkin_use.undo_check_in(uow, user, congress_id, delegate_id, fields.get("reason", ""))
        if result["undone"]:
            await audit.record(uow, request, user, "checkin.undone", f"delegate:{delegate_id}", congress_id,
                               reason=result["reason"])

    return await congress_action(request, congress_id, work, _back_to_desk(congress_id, query, "undone"),
                                 "console/desk.html", _desk_context(query))


@router.get("/dashboard")
async def dashboard(request: Request, congress_id: str) -> Response:
    lang = language(request)

    async def load(session: Any, user: Any, congress: Any) -> dict[str, Any]:
        snapshot = await request.app.state.runtime.extras["attendance_snapshots"].compute(congress.id)
        return {"day": snapshot, "chart_svg": chart_for(snapshot, lang)}

    return await congress_page(request, congress_id, "console/dashboard.html", load)
