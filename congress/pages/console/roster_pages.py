"""Console pages of the roster: import a file and read its report, the delegates with their
check-in state, badges and slips to print, a lost badge reissued."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from congress.api.congress_deps import links_of
from congress.db import checkins, delegates
from congress.handlers import delegates as roster_use
from congress.handlers.congresses import staff_congress
from congress.pages.console.actions import congress_action, congress_page
from congress.pages.console.common import refusal, runtime_of, staff_user
from congress.pages.templating import language
from runtime import audit, i18n
from runtime.errors import ApiError, Invalid, TooLarge

router = APIRouter(prefix="/console/congresses/{congress_id}/delegates", include_in_schema=False)

MAX_ROSTER_BYTES = 5 * 1024 * 1024
TEMPLATE = "console/delegates.html"


def _context(report: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    async def load(session: Any, user: Any, congress: Any) -> dict[str, Any]:
        rows = (await session.execute(
            select(delegates.c.id, delegates.c.full_name, delegates.c.unit, delegates.c.delegate_type,
                   delegates.c.phone, delegates.c.email, checkins.c.checked_in_at)
            .select_from(delegates.outerjoin(checkins, checkins.c.delegate_id == delegates.c.id))
            .where(delegates.c.congress_id == congress.id)
            .order_by(delegates.c.unit, delegates.c.full_name, delegates.c.id))).all()
        return {"delegates": rows, "report": report}
    return load


@router.get("")
async def roster(request: Request, congress_id: str) -> Response:
    return await congress_page(request, congress_id, TEMPLATE, _context())


@router.post("/import")
async def import_roster(request: Request, congress_id: str) -> Response:
    user = await staff_user(request)  # also checks the form's CSRF token
    if isinstance(user, Response):
        return user
    form = await request.form()
    upload = form.get("file")
    partial = form.get("partial") == "yes"
    try:
        async with runtime_of(request).db.session() as session:
            await staff_congress(session, user, congress_id)  # 404 before anything is read
        if upload is None or isinstance(upload, str):
            raise Invalid("file_required", "Choose the roster file (CSV or XLSX).")
        data = await upload.read(MAX_ROSTER_BYTES + 1)
        if len(data) > MAX_ROSTER_BYTES:
            raise TooLarge("roster_too_large", "The roster file is larger than {limit} MB.",
                           limit=MAX_ROSTER_BYTES // 2**20)
        async with runtime_of(request).db.uow() as uow:
            report = await roster_use.import_roster(uow, user, links_of(request), congress_id, data, partial)
            if report.imported:
                await audit.record(uow, request, user, "delegates.imported", f"congress:{congress_id}", congress_id,
                                   imported=report.imported, rejected=len(report.errors))
    except ApiError as refused:
        if refused.status == 404:
            return refusal(request, refused, user)
        return await congress_page(request, congress_id, TEMPLATE, _context(), error=refused, user=user)
    lang = language(request)
    shown = {"imported": report.imported, "rows": report.rows, "partial": partial,
             "errors": [{"row": e.row, "reason": i18n.gettext(e.reason, lang, **e.params)} for e in report.errors]}
    return await congress_page(request, congress_id, TEMPLATE, _context(shown), user=user)


@router.post("/{delegate_id}/reissue")
async def reissue(request: Request, congress_id: str, delegate_id: str) -> Response:
    async def work(uow, user, fields):  # type: ignore[no-untyped-def]
        await roster_use.reissue_secrets(uow, user, links_of(request), congress_id, delegate_id)
        await audit.record(uow, request, user, "delegate.secrets_reissued", f"delegate:{delegate_id}", congress_id)

    response = await congress_action(request, congress_id, work,
                                     f"/console/congresses/{congress_id}/delegates?done=reissued#d-{delegate_id}",
                                     TEMPLATE, _context())
    scan_cache = runtime_of(request).extras.get("scan_cache")
    if scan_cache is not None and response.status_code == 303:
        scan_cache.forget_delegates()  # the old personal link must stop at once on this replica
    return response
