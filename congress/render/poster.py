"""The A4 poster of one publication: congress, agenda item, title, a large QR and one line
telling people what to do. The URL is printed too, for anyone who prefers typing it."""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from runtime import qr
from runtime.pdf import ensure_glyphs, register_fonts

QR_SIZE = 130 * mm


@dataclass(frozen=True)
class Poster:
    congress_title: str
    agenda_item: str
    title: str
    url: str
    instruction: str


def _centred(canvas: Canvas, font: str, text: str, size: float, y: float, width: float, max_lines: int) -> float:
    canvas.setFont(font, size)
    lines = simpleSplit(text, font, size, width)[:max_lines] if text else []
    for line in lines:
        canvas.drawCentredString(A4[0] / 2, y, line)
        y -= size * 1.25
    return y


def render_poster(poster: Poster) -> bytes:
    font = register_fonts()
    congress_title, agenda_item, title, instruction = (
        ensure_glyphs(t) for t in (poster.congress_title, poster.agenda_item, poster.title, poster.instruction))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    width = A4[0] - 30 * mm
    y = A4[1] - 25 * mm
    canvas.setFillGray(0.3)
    y = _centred(canvas, font, congress_title, 14, y, width, 3) - 4
    y = _centred(canvas, font, agenda_item, 12, y, width, 2) - 8
    canvas.setFillGray(0)
    _centred(canvas, font, title, 22, y, width, 3)
    qr_y = 55 * mm
    qr.draw(canvas, poster.url, (A4[0] - QR_SIZE) / 2, qr_y, QR_SIZE)
    y = _centred(canvas, font, instruction, 15, qr_y - 4 * mm, width, 2) - 2
    canvas.setFillGray(0.35)
    _centred(canvas, font, poster.url, 10, y, width, 1)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
