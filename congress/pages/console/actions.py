"""How a console form runs: the staff check, one write transaction, then Post/Redirect/Get —
or the page again with the error, in the user's language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from congress.handlers.congresses import staff_congress
from congress.pages.console.common import back_to, form_fields, page, refusal, runtime_of, staff_user
from congress.pages.templating import language
from runtime import i18n
from runtime.auth import Principal
from runtime.db import UnitOfWork
from runtime.errors import ApiError

Work = Callable[[UnitOfWork, Principal, dict[str, str]], Awaitable[Any]]
Context = Callable[[Any, Principal, Any], Awaitable[dict[str, Any]]]


async def congress_page(request: Request, congress_id: str, template: str, context: Context,
                        error: ApiError | None = None, user: Principal | None = None) -> Response:
    """A page of one congress for its staff: 404 (not leaked) for anyone else."""
    if user is None:
        found = await staff_user(request)
        if isinstance(found, Response):
            return found
        user = found
    runtime = runtime_of(request)
    try:
        async with runtime.db.session() as session:
            congress = await staff_congress(session, user, congress_id)
            extra = await context(session, user, congress)
    except ApiError as refused:
        return refusal(request, refused, user)
    status = 200
    message = None
    if error is not None:
        if not request.headers.get("accept", "").count("text/html"):
            return refusal(request, error, user)
        status = error.status
        message = i18n.gettext(error.message, language(request), **error.params)
    done = request.query_params.get("done")
    return page(request, template, status=status, user=user, congress=congress, error=message, done=done, **extra)


async def congress_action(request: Request, congress_id: str, work: Work, back: str, template: str,
                          context: Context) -> Response:
    user = await staff_user(request)
    if isinstance(user, Response):
        return user
    fields = await form_fields(request)
    try:
        async with runtime_of(request).db.uow() as uow:
            await staff_congress(uow.session, user, congress_id)
            await work(uow, user, fields)
    except ApiError as refused:
        if refused.status == 404:
            return refusal(request, refused, user)
        return await congress_page(request, congress_id, template, context, error=refused, user=user)
    return back_to(back)
