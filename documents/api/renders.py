"""PDFs rendered from a congress's data: agenda, attendance sheet, minutes draft (staff only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from documents import model
from documents.api.documents import REVALIDATE, deps_of
from documents.handlers.render_congress_pdfs import render_congress_pdf
from runtime.auth import CurrentUser, StaffRoute

router = APIRouter(tags=["renders"], route_class=StaffRoute)

FILE_NAMES = {"agenda": "Chương trình", "attendance": "Danh sách đại biểu", "minutes": "Biên bản (dự thảo)"}


@router.get("/api/documents/renders/{congress_id}/{name}.pdf")
async def rendered(request: Request, congress_id: str, name: str, user: CurrentUser) -> Response:
    """`agenda.pdf`, `attendance.pdf` or `minutes.pdf`, drawn now from what the service knows."""
    pdf, title = await render_congress_pdf(deps_of(request), user, congress_id, name)
    file_name = model.download_name(f"{FILE_NAMES[name]} - {title}", ".pdf")
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": model.content_disposition(file_name),
        "Cache-Control": REVALIDATE,
    })
