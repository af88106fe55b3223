"""Rendered PDFs (documents/render) and the font rules (runtime/pdf.py): exact Vietnamese back out
of pdftotext and pypdf, and a character the font lacks refused before anything is drawn."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from documents.render import (
    AgendaLine,
    CongressSheet,
    DelegateLine,
    DocumentLine,
    SignatureLine,
    render_agenda,
    render_attendance,
    render_minutes,
)
from runtime.pdf import FONT, MissingGlyphs, ensure_glyphs, font_path, missing_glyphs, nfc

NAMES = ["Nguyễn Thị Nguyên", "Phạm Thị Thuý Hải", "Đặng Thị Quyên"]
CONGRESS = CongressSheet("Đại hội đại biểu Phụ nữ phường Bến Nghé lần thứ XV", "Hội Liên hiệp Phụ nữ Việt Nam",
                         "Phường Bến Nghé", "Hội trường Ủy ban nhân dân phường",
                         datetime(2026, 12, 5, 1, 30, tzinfo=UTC), None, 0.5)
AGENDA = [AgendaLine(1, "Khai mạc, giới thiệu đại biểu"), AgendaLine(2, "Báo cáo chính trị", "Trình bày: " + NAMES[0]),
          AgendaLine(3, "Bầu Ban Chấp hành nhiệm kỳ 2026–2031")]
CHECKED = datetime(2026, 12, 5, 0, 55, tzinfo=UTC)
ROSTER = [DelegateLine(NAMES[0], "Chi hội khu phố 1", "Chính thức", CHECKED),
          DelegateLine(NAMES[1], "Chi hội khu phố 2", "Chính thức", None),
          DelegateLine(NAMES[2], "Chi hội khu phố 3", "Dự khuyết", CHECKED)]


def texts(pdf: bytes, tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    poppler = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return poppler, "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_agenda_reads_back_exactly(tmp_path: Path) -> None:
    for text in texts(render_agenda(CONGRESS, AGENDA), tmp_path):
        for expected in ("CHƯƠNG TRÌNH", CONGRESS.title, "Báo cáo chính trị", "Trình bày: Nguyễn Thị Nguyên",
                         "Bầu Ban Chấp hành nhiệm kỳ 2026–2031", "08:30, ngày 05/12/2026"):
            assert expected in text


def test_attendance_sheet_reads_back_exactly(tmp_path: Path) -> None:
    for text in texts(render_attendance(CONGRESS, ROSTER), tmp_path):
        for expected in (*NAMES, "Chi hội khu phố 3", "Dự khuyết", "07:55", "Vắng", "Tổng số đại biểu: 3. Có mặt: 2."):
            assert expected in text


def test_minutes_draft_lists_documents_and_signers(tmp_path: Path) -> None:
    docs = [DocumentLine("Báo cáo chính trị", "report", 2, "approved", 2, "signatures",
                         (SignatureLine(NAMES[2], "signer", CHECKED),)),
            DocumentLine("Phóng sự nhiệm kỳ", "video", 1, "published", None, "secretary")]
    for text in texts(render_minutes(CONGRESS, AGENDA, ROSTER, docs), tmp_path):
        for expected in ("BIÊN BẢN (DỰ THẢO)", "2/3 có mặt", "Báo cáo chính trị, phiên bản 2: đã phê duyệt.",
                         f"Ký: {NAMES[2]}", "Phóng sự nhiệm kỳ", "thư ký phê duyệt trực tiếp"):
            assert expected in text


def test_long_agenda_spans_pages_with_numbers(tmp_path: Path) -> None:
    items = [AgendaLine(i, f"Thảo luận tổ {i}: góp ý dự thảo văn kiện", "Chủ trì: " + NAMES[i % 3]) for i in range(1, 120)]
    pdf = render_agenda(CONGRESS, items)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 3
    assert "Trang 2" in pages[1].extract_text()


def test_decomposed_input_is_drawn_composed(tmp_path: Path) -> None:
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Nguye\u0302n"
    poppler, pypdf_text = texts(render_attendance(CONGRESS, [DelegateLine(decomposed)]), tmp_path)
    assert NAMES[0] in poppler and NAMES[0] in pypdf_text


@pytest.mark.parametrize("renderer", ["agenda", "attendance", "minutes"])
def test_a_character_the_font_lacks_is_refused_naming_it(renderer: str) -> None:
    bad = CongressSheet("Hội nghị 🌸 mùa xuân")
    with pytest.raises(MissingGlyphs) as refused:
        if renderer == "agenda":
            render_agenda(bad, AGENDA)
        elif renderer == "attendance":
            render_attendance(CONGRESS, [DelegateLine("Lê Thị 𠀀Hoa")])
        else:
            render_minutes(CONGRESS, [AgendaLine(1, "Tổng kết ☃")], [], [])
    assert refused.value.characters and all(ord(c) > 0x2000 for c in refused.value.characters)
    assert "U+" in refused.value.describe()


def test_font_comes_from_the_package_and_covers_vietnamese() -> None:
    assert "fontpkg_noto_sans" in str(font_path())
    every_vietnamese_letter = ("aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ")
    assert missing_glyphs(every_vietnamese_letter + every_vietnamese_letter.upper(), FONT) == []
    assert ensure_glyphs("Bie\u0302n ba\u0309n") == nfc("Bie\u0302n ba\u0309n") == "Biên bản"
    assert missing_glyphs("a😀b😀☃") == ["😀", "☃"]
    with pytest.raises(ValueError):
        missing_glyphs("abc", "Helvetica")  # a built-in font has no cmap to vouch for
