"""`/c/{code}`: the badge's QR code, opened by a secretary's phone camera at the door.

GET never changes anything (link prefetchers and previews must not check anyone in). For a
logged-in secretary of the delegate's congress it shows the delegate, large, and one button;
the button's POST (with the CSRF token as a form field) checks them in and comes back here,
ready for the next badge. Anyone else gets a neutral page that says nothing about the badge
— not even whether it exists — and a link to log in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from congress.db import congresses
from congress.handlers.checkins import check_in, checkin_of, delegate_by_code
from congress.pages.console.common import back_to, page, refusal, runtime_of, staff_user
from congress.access import is_congress_staff
from runtime.errors import ApiError, NotFound, TooManyRequests
from runtime.ratelimit import failed_token_lookup

router = APIRouter(include_in_schema=False)


def _neutral(request: Request, code: str) -> Response:
    return page(request, "console/checkin_neutral.html", next_url=f"/c/{code}")


async def _unknown(request: Request, user) -> Response:  # type: ignore[no-untyped-def]
    """A code that is no badge of the caller's congresses: counted (guessing is slowed down)."""
    try:
        await failed_token_lookup(request, "c")
    except TooManyRequests as exc:
        return refusal(request, exc, user)
    return refusal(request, NotFound("unknown_badge", "No delegate of your congresses has this badge."), user)


@router.get("/c/{code}")
async def checkin_page(request: Request, code: str) -> Response:
    user = await staff_user(request)
    if isinstance(user, Response):
        return _neutral(request, code)
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        delegate = await delegate_by_code(session, code)
        if delegate is None or not await is_congress_staff(session, user, delegate.congress_id):
            return await _unknown(request, user)
        congress = (await session.execute(
            congresses.select().where(congresses.c.id == delegate.congress_id))).first()
        present = await checkin_of(session, delegate.id)
    return page(request, "console/checkin.html", user=user, code=code, delegate=delegate, congress=congress,
                present=present, just=request.query_params.get("just"))


@router.post("/c/{code}")
async def checkin_button(request: Request, code: str) -> Response:
    user = await staff_user(request)
    if isinstance(user, Response):
        return user
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        delegate = await delegate_by_code(session, code)
        allowed = delegate is not None and await is_congress_staff(session, user, delegate.congress_id)
    if not allowed:
        return await _unknown(request, user)
    try:
        async with runtime.db.uow() as uow:
            result = await check_in(uow, user, delegate.congress_id, code=code, method="badge")
    except ApiError as refused:  # a closed congress
        return refusal(request, refused, user)
    return back_to(f"/c/{code}?just={'1' if result.created else '0'}")
