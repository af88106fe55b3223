"""Badges and personal slips on A4 sheets: 10 cards (90 × 54 mm) per page, with cut marks.

The badge carries the check-in QR (`/c/{code}`): it is worn openly and scanned at the door.
The slip carries the personal-link QR (`/d/{token}`) and is handed to the delegate privately:
whoever holds it sees that delegate's page. Slips therefore start on a new page, in the same
order as the badges, so the secretary can hand each pair together.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from runtime import qr
from runtime.pdf import ensure_glyphs, register_fonts

CARD_W, CARD_H = 90 * mm, 54 * mm
COLUMNS, ROWS = 2, 5
MARGIN_X = (A4[0] - COLUMNS * CARD_W) / 2
MARGIN_Y = (A4[1] - ROWS * CARD_H) / 2
PAD = 4 * mm
QR_SIZE = 34 * mm  # quiet zone included: ~27 mm of code, read by any phone at arm's length


@dataclass(frozen=True)
class Card:
    full_name: str
    unit: str
    delegate_type: str
    checkin_url: str
    personal_url: str


@dataclass(frozen=True)
class BadgeTexts:
    """Fixed wording, in the language asked for (Vietnamese by default)."""

    congress_title: str
    slip_heading: str
    slip_instruction: str


def _lines(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    lines = simpleSplit(text, font, size, width) if text else []
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip() + "…"
    return lines


def _cut_marks(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setStrokeGray(0.8)
    canvas.setLineWidth(0.3)
    canvas.setDash(2, 2)
    for column in range(COLUMNS + 1):
        x = MARGIN_X + column * CARD_W
        canvas.line(x, MARGIN_Y, x, MARGIN_Y + ROWS * CARD_H)
    for row in range(ROWS + 1):
        y = MARGIN_Y + row * CARD_H
        canvas.line(MARGIN_X, y, MARGIN_X + COLUMNS * CARD_W, y)
    canvas.restoreState()


def _origin(index: int) -> tuple[float, float]:
    slot = index % (COLUMNS * ROWS)
    column, row = slot % COLUMNS, slot // COLUMNS
    return MARGIN_X + column * CARD_W, A4[1] - MARGIN_Y - (row + 1) * CARD_H


def _draw_lines(canvas: Canvas, font: str, lines: list[str], size: float, x: float, y: float) -> float:
    canvas.setFont(font, size)
    for line in lines:
        canvas.drawString(x, y, line)
        y -= size * 1.2
    return y


def _badge(canvas: Canvas, font: str, x: float, y: float, card: Card, texts: BadgeTexts) -> None:
    text_w = CARD_W - QR_SIZE - 2 * PAD
    top = y + CARD_H - PAD - 8
    top = _draw_lines(canvas, font, _lines(texts.congress_title, font, 7.5, text_w, 3), 7.5, x + PAD, top) - 6
    top = _draw_lines(canvas, font, _lines(card.full_name, font, 13, text_w, 3), 13, x + PAD, top - 6) - 2
    top = _draw_lines(canvas, font, _lines(card.unit, font, 9, text_w, 2), 9, x + PAD, top)
    if card.delegate_type:
        canvas.setFillGray(0.35)
        _draw_lines(canvas, font, _lines(card.delegate_type, font, 8, text_w, 1), 8, x + PAD, y + PAD + 2)
        canvas.setFillGray(0)
    qr.draw(canvas, card.checkin_url, x + CARD_W - QR_SIZE - PAD / 2, y + (CARD_H - QR_SIZE) / 2, QR_SIZE)


def _slip(canvas: Canvas, font: str, x: float, y: float, card: Card, texts: BadgeTexts) -> None:
    text_w = CARD_W - QR_SIZE - 2 * PAD
    top = y + CARD_H - PAD - 8
    top = _draw_lines(canvas, font, _lines(texts.slip_heading, font, 8, text_w, 2), 8, x + PAD, top) - 4
    top = _draw_lines(canvas, font, _lines(card.full_name, font, 12, text_w, 2), 12, x + PAD, top - 4)
    top = _draw_lines(canvas, font, _lines(card.unit, font, 8.5, text_w, 2), 8.5, x + PAD, top) - 4
    _draw_lines(canvas, font, _lines(texts.slip_instruction, font, 8, text_w, 4), 8, x + PAD, top)
    qr.draw(canvas, card.personal_url, x + CARD_W - QR_SIZE - PAD / 2, y + (CARD_H - QR_SIZE) / 2, QR_SIZE)


def render_badges(cards: Sequence[Card], texts: BadgeTexts, title: str = "") -> bytes:
    """Badge pages, then slip pages, in the same order."""
    font = register_fonts()
    texts = BadgeTexts(*(ensure_glyphs(t) for t in (texts.congress_title, texts.slip_heading, texts.slip_instruction)))
    cards = [Card(ensure_glyphs(c.full_name), ensure_glyphs(c.unit), ensure_glyphs(c.delegate_type),
                  c.checkin_url, c.personal_url) for c in cards]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(ensure_glyphs(title or texts.congress_title))
    for draw in (_badge, _slip):
        for index, card in enumerate(cards):
            if index and index % (COLUMNS * ROWS) == 0:
                canvas.showPage()
            if index % (COLUMNS * ROWS) == 0:
                _cut_marks(canvas)
            x, y = _origin(index)
            draw(canvas, font, x, y, card, texts)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
