"""Rules of congresses, rosters, delegate secrets and publications (no I/O)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from congress.domain.congresses import CongressFields, ensure_writable, next_state_on_open, quorum_reached
from congress.domain.delegate_secrets import derivation_key, secrets_for
from congress.domain.publications import KnownVersion, choose_version, content_disposition
from congress.domain.roster import check_rows, map_headers, normalise_phone, read_roster
from runtime import i18n
from runtime.errors import Conflict, Invalid, NotFound

REPO = Path(__file__).resolve().parents[2]


def test_quorum_and_states() -> None:
    assert quorum_reached(100, 200, 0.5) and not quorum_reached(99, 200, 0.5) and not quorum_reached(0, 0, 0.5)
    with pytest.raises(Invalid):
        CongressFields.checked(title="Đại hội", quorum=0)
    with pytest.raises(Invalid):
        CongressFields.checked(title=" ", quorum=0.5)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(Invalid):
        CongressFields.checked(title="x", quorum=1, starts_at=start, ends_at=start - timedelta(hours=1))
    assert CongressFields.checked(title="Đa\u0323i ho\u0323\u0302i", quorum=1).title == "Đại hội"
    assert next_state_on_open("draft") == "open" and next_state_on_open("open") is None
    with pytest.raises(Conflict):
        ensure_writable("closed")


def test_phones_headers_and_duplicates() -> None:
    assert normalise_phone("+84 981 551 382") == normalise_phone("0981.551.382") == "0981551382"
    assert normalise_phone("981551382") == "0981551382" and normalise_phone("") == ""
    assert normalise_phone("0123456789") is None and normalise_phone("12345") is None
    assert set(map_headers(["STT", "Họ và tên", "Đơn vị", "SĐT", "Email", "Loại đại biểu"]).values()) == {
        "full_name", "unit", "phone", "email", "delegate_type"}
    with pytest.raises(Invalid):
        map_headers(["Tên", "Đơn vị"])
    rows = read_roster("\ufeffhọ tên,đơn vị\nAn,X\nan,x\n,Y\n".encode())
    result = check_rows(rows, set(), set())
    assert [(n, d.full_name) for n, d in result.valid] == [(2, "An")]
    assert [(e.row, e.code) for e in result.errors] == [(3, "duplicate"), (4, "missing_name")]


def test_delegate_secrets_are_strong_stable_and_reissuable() -> None:
    key = derivation_key("k" * 40)
    first, again, reissued = secrets_for(key, "d1", 1), secrets_for(key, "d1", 1), secrets_for(key, "d1", 2)
    assert first == again and first.checkin_code != reissued.checkin_code and first.link_token != reissued.link_token
    assert first.checkin_code != first.link_token and len(first.link_token) * 6 >= 80
    assert secrets_for(derivation_key("other" * 8), "d1", 1) != first
    assert re.fullmatch(r"[0-9a-f]{64}", first.link_hash)


def test_only_approved_versions_are_published() -> None:
    def version(n: int, approved: bool) -> KnownVersion:
        return KnownVersion("d", n, "c", "s" * 64, "t", "report", 1, 1, "application/pdf", None, approved)

    assert choose_version([version(1, True), version(2, False), version(3, True)], "c", None).version == 3
    with pytest.raises(Conflict):
        choose_version([version(1, False)], "c", None)
    with pytest.raises(Conflict):
        choose_version([version(1, True), version(2, False)], "c", 2)
    with pytest.raises(NotFound):
        choose_version([version(1, True)], "another congress", None)
    header = content_disposition("Báo cáo chính trị", "application/pdf")
    assert "filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20ch%C3%ADnh%20tr%E1%BB%8B.pdf" in header


def test_every_page_string_has_its_vietnamese_translation() -> None:
    i18n.add_catalogue_dir(REPO / "congress" / "locale")
    templates = " ".join(p.read_text() for p in (REPO / "congress" / "templates").glob("*.html"))
    msgids = re.findall(r'_\("([^"]+)"', templates)
    assert msgids and i18n.missing_translations("vi", msgids) == []
