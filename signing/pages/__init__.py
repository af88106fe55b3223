"""Pages of the signing service: the signer's page and the public verification page (Vietnamese)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from runtime.auth import CSRF_COOKIE, OptionalUser
from runtime.errors import ApiError
from signing.api.deps import Reports, SigningDeps
from signing.api.verify import limit_uploads, read_upload
from signing.handlers import requests as use_cases
from signing.handlers.verification import verify_bytes, verify_code
from signing.stamp import ROLE_LABELS, local_time

router = APIRouter(tags=["pages"], include_in_schema=False)

templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
templates.filters["local_time"] = lambda moment: local_time(moment) if moment else ""
templates.filters["role_label"] = lambda role: ROLE_LABELS.get(role, role)

HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
           "script-src 'unsafe-inline' 'self'; frame-src 'self'; img-src 'self' data:"}


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status, headers=HEADERS)


@router.get("/sign/{request_id}")
async def sign_page(request_id: str, request: Request, user: OptionalUser, deps: SigningDeps) -> HTMLResponse:
    if user is None:
        return render("sign.html", status=401, login_needed=True, next_url=f"/sign/{request_id}")
    try:
        data = await use_cases.get_request(deps, user, request_id)
    except ApiError as exc:
        return render("sign.html", status=exc.status, missing=True)
    mine = next((s for s in data["signers"] if s["username"] == user.username), None)
    return render("sign.html", req=data, me=user, mine=mine, my_turn=data["next_signer"] == user.username,
                  csrf=request.cookies.get(CSRF_COOKIE, ""))


@router.get("/verify/{code}")
async def verify_page(code: str, deps: SigningDeps, reports: Reports) -> HTMLResponse:
    found = await verify_code(deps, reports, code)
    if found is None:
        return render("verify.html", status=404, unknown_code=code[:20])
    facts, report = found
    return render("verify.html", facts=facts, report=report)


@router.post("/verify/file")
async def verify_upload_page(request: Request, deps: SigningDeps, reports: Reports) -> HTMLResponse:
    try:
        await limit_uploads(request, deps.settings.verify_uploads_per_minute)
        data = await read_upload(request, deps.settings.verify_max_bytes)
    except ApiError as exc:
        return render("verify.html", status=exc.status, upload_error=exc.code)
    return render("verify.html", report=await verify_bytes(deps, reports, data), uploaded=True)
