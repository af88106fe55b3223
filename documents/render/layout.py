"""The page, the styles and the glyph check every rendered PDF shares."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from runtime.pdf import FONT, ensure_glyphs, nfc, register_fonts

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no daylight saving time


class Styles:
    """Paragraph styles in one font (Noto Sans; Helvetica only for the bench's baseline)."""

    def __init__(self, font: str) -> None:
        self.font = font
        self.title = ParagraphStyle("title", fontName=font, fontSize=16, leading=21, alignment=TA_CENTER,
                                    spaceAfter=4)
        self.subtitle = ParagraphStyle("subtitle", fontName=font, fontSize=11, leading=15, alignment=TA_CENTER,
                                       spaceAfter=2)
        self.heading = ParagraphStyle("heading", fontName=font, fontSize=12.5, leading=17, spaceBefore=9,
                                      spaceAfter=3)
        self.body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=14.5, spaceAfter=2)
        self.small = ParagraphStyle("small", fontName=font, fontSize=9, leading=12, textColor=colors.HexColor("#444444"))
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=9.5, leading=12.5)


class TextCheck:
    """Collects every string a document will draw, so the glyph check runs before drawing."""

    def __init__(self, font: str, check: bool) -> None:
        self.font = font
        self.check = check
        self._seen: list[str] = []

    def __call__(self, text: object) -> str:
        value = nfc("" if text is None else str(text))
        self._seen.append(value)
        return value

    def verify(self) -> None:
        if self.check:
            ensure_glyphs("".join(self._seen), self.font)


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (the text is escaped: a name with `<` is not markup)."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def table(rows: list[list[Flowable | str]], widths: list[float], header_rows: int = 1) -> Table:
    grid = Table(rows, colWidths=widths, repeatRows=header_rows)
    grid.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#E8EEF4")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return grid


def local_time(value: datetime | None, with_date: bool = True) -> str:
    if value is None:
        return ""
    shown = value.astimezone(VIETNAM)
    return shown.strftime("%H:%M, ngày %d/%m/%Y" if with_date else "%H:%M")


def build_pdf(
    title: str,
    font: str,
    check: TextCheck,
    story: Iterable[Flowable],
    footer: str,
) -> bytes:
    """Check the collected text, then lay out the story on A4 with a page-numbered footer."""
    check.verify()
    if font == FONT:
        register_fonts()
    footer_text = check(footer)
    check.verify()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title=title, author=footer_text, creator="paperless-congress")

    def on_page(canvas, document) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(18 * mm, 10 * mm, footer_text)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"Trang {document.page}")
        canvas.restoreState()

    doc.build(list(story), onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


StoryBuilder = Callable[[Styles, TextCheck], list[Flowable]]


def render(title: str, footer: str, font: str, check_glyphs: bool, build: StoryBuilder) -> bytes:
    """Common frame of every renderer: styles, text collection, glyph check, layout."""
    if font == FONT:
        register_fonts()
    check = TextCheck(font, check_glyphs)
    check("Trang 0123456789")
    styles = Styles(font)
    story = build(styles, check)
    return build_pdf(check(title), font, check, story, footer)
