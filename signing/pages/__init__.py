"""Pages of the signing service: the signer's page and the public verification page.

Vietnamese by default; English by `?lang=en` (remembered in the `lang` cookie), the cookie, or
Accept-Language. Template strings are English msgids translated from signing/locale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from runtime import i18n
from runtime.auth import CSRF_COOKIE, OptionalUser, StaffRoute
from runtime.errors import ApiError
from signing.api.deps import Reports, SigningDeps
from signing.api.verify import limit_uploads, read_upload
from signing.handlers import requests as use_cases
from signing.handlers.verification import verify_bytes, verify_code
from signing.stamp import local_time

router = APIRouter(tags=["pages"], include_in_schema=False, route_class=StaffRoute)

templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
templates.filters["local_time"] = lambda moment: local_time(moment) if moment else ""
ROLE_NAMES = {"approver": "Approver", "signer": "Signer"}  # msgids; the stamp keeps its own Vietnamese labels
LANG_COOKIE_SECONDS = 60 * 60 * 24 * 365

HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
           "script-src 'unsafe-inline' 'self'; frame-src 'self'; img-src 'self' data:"}


def language(request: Request) -> str:
    """`?lang=` (the visible switch) wins, then the `lang` cookie, then Accept-Language."""
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    return i18n.negotiate(request.headers.get("accept-language"), chosen)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)

    def _(message: str, **params: object) -> str:
        return i18n.gettext(message, lang, **params)

    body = templates.get_template(name).render(_=_, lang=lang, role_names=ROLE_NAMES, **context)
    response = HTMLResponse(body, status_code=status, headers=HEADERS)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie("lang", lang, max_age=LANG_COOKIE_SECONDS, samesite="lax", httponly=True)
    return response


@router.get("/sign/{request_id}")
async def sign_page(request_id: str, request: Request, user: OptionalUser, deps: SigningDeps) -> HTMLResponse:
    if user is None:
        return render(request, "sign.html", status=401, login_needed=True, next_url=f"/sign/{request_id}")
    try:
        data = await use_cases.get_request(deps, user, request_id)
    except ApiError as exc:
        return render(request, "sign.html", status=exc.status, missing=True)
    mine = next((s for s in data["signers"] if s["username"] == user.username), None)
    return render(request, "sign.html", req=data, me=user, mine=mine, my_turn=data["next_signer"] == user.username,
                  csrf=request.cookies.get(CSRF_COOKIE, ""))


@router.get("/verify/{code}")
async def verify_page(code: str, request: Request, deps: SigningDeps, reports: Reports) -> HTMLResponse:
    found = await verify_code(deps, reports, code)
    if found is None:
        return render(request, "verify.html", status=404, unknown_code=code[:20])
    facts, report = found
    return render(request, "verify.html", facts=facts, report=report)


@router.post("/verify/file")
async def verify_upload_page(request: Request, deps: SigningDeps, reports: Reports) -> HTMLResponse:
    try:
        await limit_uploads(request, deps.settings.verify_uploads_per_minute)
        data = await read_upload(request, deps.settings.verify_max_bytes)
    except ApiError as exc:
        return render(request, "verify.html", status=exc.status, upload_error=exc.code)
    return render(request, "verify.html", report=await verify_bytes(deps, reports, data), uploaded=True)
