"""documents/model.py and documents/pdf_inspection.py: the rules, names and PDF checks (temp files only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from documents import model
from documents.pdf_inspection import PdfLimits, PdfRefused, inspect_pdf
from tests.support.documents import bomb_pdf, encrypted_pdf, vietnamese_pdf


def test_status_transitions_never_leave_a_frozen_version() -> None:
    assert model.status_when_request_created("draft") == "in_review"
    assert model.status_when_request_ended("in_review") == "draft"
    assert model.status_when_published("approved") == "published"
    for frozen in model.FROZEN:
        assert model.status_when_request_created(frozen) is None
        assert model.status_when_request_ended(frozen) is None
    assert model.status_when_published("draft") is None


def test_latest_approved_and_rules() -> None:
    assert model.latest_approved([(1, "superseded"), (2, "published"), (3, "draft")]) == 2
    assert model.latest_approved([(1, "draft")]) is None
    model.check_can_approve_directly("video")
    model.check_can_approve_directly("reference")
    with pytest.raises(model.RuleBroken):
        model.check_can_approve_directly("resolution")
    with pytest.raises(model.RuleBroken):
        model.check_can_add_version(["superseded", "in_review"])
    assert model.file_type_allowed("video", "video") and not model.file_type_allowed("report", "video")


def test_content_disposition_has_an_rfc5987_name_and_an_ascii_fallback() -> None:
    header = model.content_disposition(model.download_name("Báo cáo chính trị / Đại hội", ".pdf"))
    assert header == ("inline; filename=\"Bao cao chinh tri - Dai hoi.pdf\"; "
                      "filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20ch%C3%ADnh%20tr%E1%BB%8B%20-%20%C4%90%E1%BA%A1i%20h%E1%BB%99i.pdf")
    assert model.ascii_fallback('a"b\\c;d\r\ne') == "a-b-c-d-e"


def test_pdf_inspection(tmp_path: Path) -> None:
    def check(data: bytes, limits: PdfLimits = PdfLimits()):  # type: ignore[no-untyped-def]
        path = tmp_path / "x.pdf"
        path.write_bytes(data)
        return inspect_pdf(path, limits)

    good = vietnamese_pdf(["Phạm Thị Thuý Hải"], pages=3)
    found = check(good)
    assert found.pages == 3 and found.text.count("Phạm Thị Thuý Hải") == 3
    for data, code, limits in ((encrypted_pdf(good), "pdf_encrypted", PdfLimits()),
                               (good[: len(good) // 2], "pdf_damaged", PdfLimits()),
                               (b"%PDF-1.4\n" + b"garbage " * 100, "pdf_damaged", PdfLimits()),
                               (good, "pdf_too_many_pages", PdfLimits(max_pages=2)),
                               (bomb_pdf(60 * 1024 * 1024), "pdf_too_complex", PdfLimits())):
        with pytest.raises(PdfRefused) as refused:
            check(data, limits)
        assert refused.value.code == code
