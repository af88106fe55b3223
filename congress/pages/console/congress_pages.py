"""Console pages of congresses: the list and the new-congress form, one congress's overview
(open, agenda), and closing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from congress.handlers import agenda as agenda_use
from congress.handlers import closing
from congress.handlers import congresses as congress_use
from congress.handlers.attendance import attendance
from congress.pages.console.actions import congress_action, congress_page
from congress.pages.console.common import back_to, form_fields, page, refusal, runtime_of, staff_user
from congress.pages.templating import language
from runtime import audit, i18n
from runtime.errors import ApiError, Invalid

router = APIRouter(prefix="/console/congresses", include_in_schema=False)

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _local_moment(text: str | None) -> datetime | None:
    """`<input type="datetime-local">` gives local wall time without an offset: the venue's."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=LOCAL)
    except ValueError:
        raise Invalid("bad_time", "A date or time is not valid.") from None


def _quorum(text: str | None) -> float:
    """Entered as a percentage (50) or a fraction (0.5)."""
    try:
        value = float((text or "50").replace(",", "."))
    except ValueError:
        raise Invalid("bad_quorum", "The quorum must be a fraction greater than 0 and at most 1.") from None
    return value / 100 if value > 1 else value


@router.get("")
async def congress_list(request: Request) -> Response:
    user = await staff_user(request)
    if isinstance(user, Response):
        return user
    async with runtime_of(request).db.session() as session:
        listed = await congress_use.list_congresses(session, user, None, 200)
    return page(request, "console/congresses.html", user=user, congresses=listed["items"])


@router.post("")
async def create_congress(request: Request) -> Response:
    user = await staff_user(request)
    if isinstance(user, Response):
        return user
    fields = await form_fields(request)
    try:
        values = {"title": fields.get("title", ""), "organisation": fields.get("organisation", ""),
                  "unit": fields.get("unit", ""), "venue": fields.get("venue", ""),
                  "starts_at": _local_moment(fields.get("starts_at")), "ends_at": _local_moment(fields.get("ends_at")),
                  "quorum": _quorum(fields.get("quorum"))}
        async with runtime_of(request).db.uow() as uow:
            created = await congress_use.create_congress(uow, user, values)
            await audit.record(uow, request, user, "congress.created", f"congress:{created['id']}", created["id"])
    except ApiError as refused:
        if "text/html" not in request.headers.get("accept", ""):
            return refusal(request, refused, user)
        async with runtime_of(request).db.session() as session:
            listed = await congress_use.list_congresses(session, user, None, 200)
        return page(request, "console/congresses.html", status=refused.status, user=user,
                    congresses=listed["items"], form=fields,
                    error=i18n.gettext(refused.message, language(request), **refused.params))
    return back_to(f"/console/congresses/{created['id']}")


async def _overview(session: Any, user: Any, congress: Any) -> dict[str, Any]:
    return {"agenda": await agenda_use.agenda_of(session, congress.id),
            "attendance": await attendance(session, congress.id),
            "open_requests": await closing.open_requests(session, congress.id)}


def _overview_url(congress_id: str, done: str) -> str:
    return f"/console/congresses/{congress_id}?done={done}"


@router.get("/{congress_id}")
async def overview(request: Request, congress_id: str) -> Response:
    return await congress_page(request, congress_id, "console/congress.html", _overview)


def _action(congress_id: str, done: str, work):  # type: ignore[no-untyped-def]
    async def run(request: Request) -> Response:
        return await congress_action(request, congress_id, work, _overview_url(congress_id, done),
                                     "console/congress.html", _overview)
    return run


@router.post("/{congress_id}/open")
async def open_congress(request: Request, congress_id: str) -> Response:
    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        await congress_use.open_congress(uow, user, congress_id)
        await audit.record(uow, request, user, "congress.opened", f"congress:{congress_id}", congress_id)
    return await _action(congress_id, "opened", work)(request)


@router.post("/{congress_id}/agenda")
async def add_agenda_item(request: Request, congress_id: str) -> Response:
    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        await agenda_use.add_item(uow, user, congress_id, fields.get("title", ""), fields.get("description", ""))
    return await _action(congress_id, "agenda", work)(request)


@router.post("/{congress_id}/agenda/{item_id}")
async def edit_agenda_item(request: Request, congress_id: str, item_id: str) -> Response:
    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        changes: dict[str, Any] = {k: fields[k] for k in ("title", "description") if k in fields}
        if fields.get("position"):
            try:
                changes["position"] = int(fields["position"])
            except ValueError:
                raise Invalid("bad_position", "The position must be a number.") from None
        await agenda_use.edit_item(uow, user, congress_id, item_id, changes)
    return await _action(congress_id, "agenda", work)(request)


@router.post("/{congress_id}/agenda/{item_id}/remove")
async def remove_agenda_item(request: Request, congress_id: str, item_id: str) -> Response:
    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        await agenda_use.remove_item(uow, user, congress_id, item_id)
    return await _action(congress_id, "agenda", work)(request)


@router.post("/{congress_id}/close")
async def close_congress(request: Request, congress_id: str) -> Response:
    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        if fields.get("confirm") != "yes":
            raise Invalid("confirm_close", "Tick the box to confirm that the congress ends now.")
        _, now = await closing.close_congress(uow, user, congress_id)
        if now:
            await audit.record(uow, request, user, "congress.closed", f"congress:{congress_id}", congress_id)
    return await _action(congress_id, "closed", work)(request)
