"""The console's login and logout forms (the same sessions and cookies as /api/auth)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from congress import model
from congress.api.auth import REFRESH_COOKIE, REFRESH_PATH
from congress.api.deps import audit_as
from congress.handlers import sessions
from congress.pages.console.common import back_to, form_fields, page, refusal, runtime_of, wants_html
from congress.pages.templating import language
from runtime import i18n
from runtime.audit import client_ip
from runtime.auth import CSRF_COOKIE, SESSION_COOKIE, optional_user
from runtime.errors import ApiError

router = APIRouter(prefix="/console", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never //host or a scheme): no open redirect after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/congresses"


@router.get("")
@router.get("/")
async def console_home() -> Response:
    return back_to("/console/congresses")


@router.get("/login")
async def login_page(request: Request) -> Response:
    return page(request, "console/login.html", next_url=_safe_next(request.query_params.get("next")))


@router.post("/login")
async def login_form(request: Request) -> Response:
    fields = await form_fields(request)
    target = _safe_next(fields.get("next"))
    runtime = runtime_of(request)
    client = sessions.Client(client_ip(request), request.headers.get("user-agent", ""))
    try:
        issued = await sessions.log_in(runtime, fields.get("username", ""), fields.get("password", ""), client,
                                       audit_as(request))
    except ApiError as refused:
        if not wants_html(request):
            return refusal(request, refused)
        message = i18n.gettext(refused.message, language(request), **refused.params)
        return page(request, "console/login.html", status=refused.status, next_url=target, error=message,
                    username=fields.get("username", ""))
    secure = request.url.scheme == "https"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, issued.access_token, max_age=model.ACCESS_TOKEN_SECONDS, path="/",
                        httponly=True, samesite="lax", secure=secure)
    response.set_cookie(REFRESH_COOKIE, issued.refresh_secret or "", max_age=model.REFRESH_SECONDS, path=REFRESH_PATH,
                        httponly=True, samesite="strict", secure=secure)
    response.set_cookie(CSRF_COOKIE, issued.csrf_token or "", max_age=model.REFRESH_SECONDS, path="/",
                        httponly=False, samesite="strict", secure=secure)
    return response


@router.post("/logout")
async def logout_form(request: Request) -> Response:
    try:
        user = await optional_user(request)  # checks the form's CSRF token
    except ApiError:
        user = None
    if user is not None:
        await sessions.log_out(runtime_of(request), user, audit_as(request))
    response = back_to("/console/login")
    for name, path in ((SESSION_COOKIE, "/"), (REFRESH_COOKIE, REFRESH_PATH), (CSRF_COOKIE, "/")):
        response.delete_cookie(name, path=path)
    return response
