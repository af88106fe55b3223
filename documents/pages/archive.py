"""Archivists' pages (Vietnamese, server-rendered): search, open a record, verify it.

A browser (Accept: text/html) gets an HTML page for errors too; other clients get the JSON
error envelope like the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from archive_verify.__main__ import MESSAGES_VI
from documents.api.documents import deps_of
from documents.handlers import archive_records as use_cases
from runtime.auth import CSRF_COOKIE, OptionalUser, Principal, StaffRoute
from runtime.errors import ApiError, Forbidden, Unauthorized

router = APIRouter(tags=["pages"], include_in_schema=False, route_class=StaffRoute)

templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
templates.filters["problem_vi"] = lambda code: MESSAGES_VI.get(code, code)
templates.filters["size"] = lambda n: f"{(n or 0) / 1024 / 1024:.1f} MB" if (n or 0) > 1024 * 1024 else f"{n or 0:,} B"
HEADERS = {"Cache-Control": "no-store",
           "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:"}
KIND_LABELS = {"congress": "Đại hội", "report": "Báo cáo", "resolution": "Nghị quyết", "minutes": "Biên bản",
               "reference": "Tài liệu tham khảo", "video": "Video"}
STATE_LABELS = {"waiting": "Đang tập hợp", "sealing": "Đang chờ niêm phong", "seal_arrived": "Đang hoàn tất",
                "sealed": "Đã niêm phong", "failed": "Lỗi"}


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("kinds", KIND_LABELS)
    context.setdefault("states", STATE_LABELS)
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status, headers=HEADERS)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def archivist(request: Request, user: Principal | None) -> Principal:
    if user is None:
        raise Unauthorized("not_authenticated", "Please log in.")
    if not user.has_role("archivist", "admin"):
        raise Forbidden("forbidden", "You do not have permission to do this.")
    return user


async def _page(request: Request, build) -> HTMLResponse:  # type: ignore[no-untyped-def]
    try:
        return await build()
    except ApiError as exc:
        if not _wants_html(request):
            raise
        return render("archive/error.html", status=exc.status, code=exc.code, next_url=request.url.path)


@router.get("/archive")
async def search_page(request: Request, user: OptionalUser, q: str = "", unit: str = "", year: str = "",
                      kind: str = "", cursor: str | None = None) -> HTMLResponse:
    async def build() -> HTMLResponse:
        archivist(request, user)
        results = None
        year_number = int(year) if year.isdigit() else None
        if q or unit or year_number or kind:
            results = await use_cases.search_records(deps_of(request), q, unit or None, year_number,
                                                     kind if kind in KIND_LABELS else None, cursor, 20)
            for item in results["items"]:
                item["snippet"] = Markup(item["snippet"])  # escaped by search.snippet, <mark> only
        return render("archive/search.html", q=q, unit=unit, year=year, kind=kind, results=results)

    return await _page(request, build)


@router.get("/archive/records/{congress_id}")
async def record_page(request: Request, congress_id: str, user: OptionalUser) -> HTMLResponse:
    async def build() -> HTMLResponse:
        archivist(request, user)
        row = await use_cases.load_record(deps_of(request), congress_id)
        return render("archive/record.html", record=use_cases.record_view(row), report=None,
                      csrf=request.cookies.get(CSRF_COOKIE, ""))

    return await _page(request, build)


@router.post("/archive/records/{congress_id}/verify")
async def verify_page(request: Request, congress_id: str, user: OptionalUser) -> HTMLResponse:
    async def build() -> HTMLResponse:
        archivist(request, user)
        deps = deps_of(request)
        report = await use_cases.verify(deps, congress_id)
        row = await use_cases.load_record(deps, congress_id)
        return render("archive/record.html", record=use_cases.record_view(row), report=report,
                      csrf=request.cookies.get(CSRF_COOKIE, ""))

    return await _page(request, build)
