"""What every console page shares: who is asking, the page frame (language, CSRF token), and
how a refusal is answered — an HTML page for a browser, the JSON error envelope for an API client.

Browsers send `Accept: text/html`; a caller that does not gets the same statuses and bodies
as the API (401/403/404 with {"error": …}), so tools and tests can read them.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from congress import model
from congress.pages.templating import language, render
from runtime import i18n
from runtime.auth import CSRF_COOKIE, Principal, optional_user
from runtime.errors import ApiError
from runtime.service import ServiceRuntime

PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY"}
LANG_COOKIE_SECONDS = 60 * 60 * 24 * 365
STAFF_ROLES = ("secretary", "admin")


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def csrf_token_of(request: Request) -> tuple[str, bool]:
    """(token, new): the double-submit token of the browser, or a new one to set. A page opened
    from another app (the phone's camera) may arrive without the SameSite=Strict cookie."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return (token, False) if token else (secrets.token_urlsafe(32), True)


def page(request: Request, template: str, status: int = 200, user: Principal | None = None,
         **context: Any) -> HTMLResponse:
    lang = language(request)
    csrf, new = csrf_token_of(request)
    body = render(template, lang, csrf_token=csrf, user=user, path=request.url.path, **context)
    response = HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGUAGES:
        response.set_cookie("lang", chosen, max_age=LANG_COOKIE_SECONDS, samesite="lax", httponly=True)
    if new:
        response.set_cookie(CSRF_COOKIE, csrf, max_age=model.REFRESH_SECONDS, path="/", httponly=False,
                            samesite="strict", secure=request.url.scheme == "https")
    return response


def refusal(request: Request, error: ApiError, user: Principal | None = None) -> Response:
    lang = language(request)
    message = i18n.gettext(error.message, lang, **error.params)
    if not wants_html(request):
        return JSONResponse({"error": {"code": error.code, "message": message}}, status_code=error.status,
                            headers=error.headers)
    return page(request, "console/message.html", status=error.status, user=user, heading=message, text="")


def to_login(request: Request) -> Response:
    if not wants_html(request):
        return JSONResponse({"error": {"code": "not_authenticated",
                                       "message": i18n.gettext("Please log in.", language(request))}},
                            status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)


def back_to(url: str) -> RedirectResponse:
    """After a form: Post/Redirect/Get (a reload never repeats the action)."""
    return RedirectResponse(url, status_code=303)


async def staff_user(request: Request) -> Principal | Response:
    """The logged-in secretary or admin, or the response to send instead (login, 403)."""
    try:
        user = await optional_user(request)
    except ApiError as refused:  # a wrong CSRF token on a form, a bad bearer token
        return refusal(request, refused)
    if user is None:
        return to_login(request)
    if not user.has_role(*STAFF_ROLES):
        return refusal(request, ApiError("forbidden", "You do not have permission to do this.", status=403), user)
    return user


async def form_fields(request: Request) -> dict[str, str]:
    """The text fields of a posted form (files are read by the pages that take them)."""
    if not request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                               "multipart/form-data")):
        return {}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}
