"""Drawings of the signing service, made with reportlab in Noto Sans: the signature page, the
visible stamp of each signature, and the completion certificate.

pyHanko's own stamp font cannot draw Vietnamese and its TrueType path is slow, so each stamp
is a one-page PDF drawn here and handed to pyHanko as a static stamp (`StaticStampStyle`
whose background is that page). The QR code is drawn as vector squares by reportlab, so no
image is embedded and the stamp stays a few kilobytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from runtime import qr
from runtime.pdf import register_fonts
from signing.pki import nfc

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

ROLE_LABELS = {"approver": "Người duyệt", "signer": "Người ký"}

# The signature page: one box per signer, laid out top-down in signing order.
PAGE_WIDTH, PAGE_HEIGHT = A4
STAMP_WIDTH, STAMP_HEIGHT = 260.0, 100.0
MARGIN_X = 56.0
FIRST_BOX_TOP = PAGE_HEIGHT - 170.0
BOX_GAP = 14.0
BOXES_PER_COLUMN = 6
BLUE = Color(0.05, 0.25, 0.6)


def register_font() -> str:
    """Noto Sans from the `fontpkg-noto-sans` wheel (never a system font)."""
    return register_fonts()


def local_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S") + " (GMT+7)"


def slot_box(position: int) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) of signer `position`'s stamp on the signature page (PDF points)."""
    column, row = divmod(position, BOXES_PER_COLUMN)
    x1 = MARGIN_X + column * (STAMP_WIDTH + 20.0)
    top = FIRST_BOX_TOP - row * (STAMP_HEIGHT + BOX_GAP)
    return (x1, top - STAMP_HEIGHT, x1 + STAMP_WIDTH, top)


MAX_SIGNERS = BOXES_PER_COLUMN * 2


@dataclass(frozen=True)
class SlotLabel:
    full_name: str
    role: str


def signature_page(title: str, slots: list[SlotLabel]) -> bytes:
    """An A4 page with the document title and an empty, labelled box for every signer."""
    font = register_font()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle("Trang chữ ký")
    c.setFont(font, 16)
    c.drawString(MARGIN_X, PAGE_HEIGHT - 80, "TRANG CHỮ KÝ SỐ")
    c.setFont(font, 10)
    _draw_wrapped(c, nfc(title), MARGIN_X, PAGE_HEIGHT - 102, PAGE_WIDTH - 2 * MARGIN_X, 10, font)
    c.setFont(font, 8)
    c.setFillColor(Color(0.35, 0.35, 0.35))
    c.drawString(MARGIN_X, PAGE_HEIGHT - 140,
                 "Các chữ ký dưới đây theo thứ tự ký. Quét mã QR trên mỗi chữ ký để kiểm tra.")
    for position, slot in enumerate(slots):
        x1, y1, x2, y2 = slot_box(position)
        c.setStrokeColor(Color(0.75, 0.75, 0.75))
        c.setDash(3, 3)
        c.rect(x1, y1, x2 - x1, y2 - y1)
        c.setFont(font, 8)
        c.drawString(x1, y2 + 3, f"{position + 1}. {ROLE_LABELS.get(slot.role, slot.role)}: {nfc(slot.full_name)}")
    c.showPage()
    c.save()
    return out.getvalue()


@dataclass(frozen=True)
class StampText:
    full_name: str
    role: str
    organisation: str
    signed_at: datetime
    code: str
    verify_url: str


def stamp_pdf(text: StampText) -> bytes:
    """The visible appearance of one signature: name, role, time, code and QR."""
    font = register_font()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(STAMP_WIDTH, STAMP_HEIGHT), pageCompression=1)
    c.setStrokeColor(BLUE)
    c.setLineWidth(1.2)
    c.rect(1, 1, STAMP_WIDTH - 2, STAMP_HEIGHT - 2)
    qr_size = STAMP_HEIGHT - 12
    _draw_qr(c, text.verify_url, STAMP_WIDTH - qr_size - 6, 6, qr_size)
    x = 8.0
    c.setFillColor(BLUE)
    c.setFont(font, 7)
    c.drawString(x, STAMP_HEIGHT - 14, "ĐÃ KÝ SỐ")
    c.setFillColor(black)
    c.setFont(font, _fit(nfc(text.full_name), font, 11, STAMP_WIDTH - qr_size - 20))
    c.drawString(x, STAMP_HEIGHT - 30, nfc(text.full_name))
    c.setFont(font, 7.5)
    lines = [ROLE_LABELS.get(text.role, text.role)]
    if text.organisation:
        lines.append(nfc(text.organisation))
    lines += [f"Thời gian: {local_time(text.signed_at)}", f"Mã kiểm tra: {text.code}"]
    y = STAMP_HEIGHT - 44
    for line in lines:
        c.setFont(font, _fit(line, font, 7.5, STAMP_WIDTH - qr_size - 20))
        c.drawString(x, y, line)
        y -= 11
    c.showPage()
    c.save()
    return out.getvalue()


@dataclass(frozen=True)
class CompletionSigner:
    position: int
    full_name: str
    username: str
    role: str
    signed_at: datetime
    code: str
    certificate_sha256: str
    signed_sha256: str


@dataclass(frozen=True)
class CompletionEvent:
    at: datetime
    action: str
    actor: str
    ip: str
    user_agent: str


ACTION_LABELS = {
    "requested": "Tạo yêu cầu ký", "viewed": "Xem tài liệu", "signed": "Ký", "rejected": "Từ chối",
    "cancelled": "Hủy yêu cầu",
}


def completion_certificate(*, request_id: str, title: str, organisation: str, original_sha256: str,
                           prepared_sha256: str, final_sha256: str, completed_at: datetime,
                           signers: list[CompletionSigner], trail: list[CompletionEvent]) -> bytes:
    """A PDF that summarises a completed request: who signed, when, with which certificate."""
    font = register_font()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle("Chứng nhận hoàn tất ký số")
    y = PAGE_HEIGHT - 64
    width = PAGE_WIDTH - 2 * MARGIN_X

    def line(text: str, size: float = 9, gap: float = 13) -> None:
        nonlocal y
        if y < 60:
            c.showPage()
            y = PAGE_HEIGHT - 64
        c.setFont(font, _fit(text, font, size, width))
        c.drawString(MARGIN_X, y, text)
        y -= gap

    line("CHỨNG NHẬN HOÀN TẤT KÝ SỐ", 15, 24)
    line(f"Tài liệu: {nfc(title)}", 10, 15)
    if organisation:
        line(f"Tổ chức: {nfc(organisation)}")
    line(f"Mã yêu cầu: {request_id}")
    line(f"Hoàn tất lúc: {local_time(completed_at)}", gap=20)
    line("Mã băm SHA-256", 11, 15)
    line(f"Bản gốc: {original_sha256}", 8)
    line(f"Bản có trang chữ ký: {prepared_sha256}", 8)
    line(f"Bản đã ký cuối cùng: {final_sha256}", 8, 20)
    line("Người ký", 11, 15)
    for s in signers:
        line(f"{s.position + 1}. {nfc(s.full_name)} ({s.username}) — {ROLE_LABELS.get(s.role, s.role)}", 9.5)
        line(f"    Ký lúc {local_time(s.signed_at)} — mã kiểm tra {s.code}", 8)
        line(f"    Dấu vân tay chứng thư (SHA-256): {s.certificate_sha256}", 7.5)
        line(f"    Bản sau chữ ký này: {s.signed_sha256}", 7.5, 16)
    line("Nhật ký", 11, 15)
    for e in trail:
        who = f"{e.actor} — {e.ip}" if e.ip else e.actor
        line(f"{local_time(e.at)}  {ACTION_LABELS.get(e.action, e.action)}  {who}", 8, 11)
        if e.user_agent:
            line(f"    {e.user_agent[:120]}", 6.5, 10)
    c.showPage()
    c.save()
    return out.getvalue()


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest size ≤ `size` at which `text` fits in `width` (long names shrink, never clip)."""
    measured = pdfmetrics.stringWidth(text, font, size)
    return size if measured <= width else max(4.0, size * width / measured)


def _draw_wrapped(c: canvas.Canvas, text: str, x: float, y: float, width: float, size: float, font: str) -> None:
    words, current = text.split(), ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if pdfmetrics.stringWidth(candidate, font, size) > width and current:
            c.drawString(x, y, current)
            y -= size * 1.3
            current = word
        else:
            current = candidate
    if current:
        c.drawString(x, y, current)


def _draw_qr(c: canvas.Canvas, data: str, x: float, y: float, size: float) -> None:
    qr.draw(c, data, x, y, size)
