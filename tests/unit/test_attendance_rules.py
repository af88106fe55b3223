"""Rules of the day without I/O: name folding for the desk, quorum per unit, paper saved, the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from congress.domain.attendance import (
    PublishedDocument,
    attendance_of,
    checkins_over_time,
    clean_reason,
    fold,
    paper_saved,
    search_words,
)
from congress.pages.console.chart import checkins_chart


def test_fold_removes_marks_and_maps_d_with_stroke() -> None:
    assert fold("Nguyễn Thị Nguyên") == "nguyen thi nguyen"
    assert fold("ĐẶNG  Đình đức") == "dang dinh duc"
    assert fold("Nguye\u0302\u0303n") == "nguyen"  # decomposed input folds the same
    assert search_words("  Nguyen   THI nguyên ") == ["nguyen", "thi", "nguyen"]


def test_quorum_total_and_per_unit() -> None:
    counted = attendance_of(0.5, [("Phường Lê Chân", 4, 2), ("Phường Kiến An", 3, 1), ("", 1, 0)])
    assert (counted.registered, counted.present, counted.absent) == (8, 3, 5)
    assert counted.quorum_reached is False and counted.needed == 4
    units = {u.unit: u for u in counted.units}
    assert counted.unit_quorum_reached(units["Phường Lê Chân"]) is True
    assert counted.unit_quorum_reached(units["Phường Kiến An"]) is False
    assert [u.unit for u in counted.units] == ["", "Phường Kiến An", "Phường Lê Chân"]
    assert attendance_of(2 / 3, [("A", 3, 2)]).quorum_reached is True
    assert attendance_of(0.5, []).quorum_reached is False  # nobody registered: no quorum


def test_pages_not_printed_count_each_document_once_for_every_registered_delegate() -> None:
    published = [PublishedDocument("d1", "Báo cáo", 12, "delegates", 30),
                 PublishedDocument("d1", "Báo cáo", 12, "public", 5),
                 PublishedDocument("d2", "Nghị quyết", 3, "public", 7)]
    saved = paper_saved(published, registered=100)
    assert saved.pages_not_printed == 12 * 100 + 3 * 100
    assert {d["document_id"]: d["views"] for d in saved.documents} == {"d1": 35, "d2": 7}


def test_checkins_over_time_buckets_and_running_total() -> None:
    start = datetime(2026, 12, 1, 1, 2, tzinfo=UTC)
    moments = [start, start + timedelta(minutes=1), start + timedelta(minutes=7), start + timedelta(minutes=16)]
    bars = checkins_over_time(moments)
    assert [(b.start.minute, b.count, b.cumulative) for b in bars] == [(0, 2, 2), (5, 1, 3), (10, 0, 3), (15, 1, 4)]
    assert len(checkins_over_time([start + timedelta(minutes=i * 10) for i in range(100)])) <= 24
    svg = checkins_chart(bars, "Điểm danh <theo> giờ", "Chưa có")
    assert svg.startswith("<svg") and "08:00" in svg and "&lt;theo&gt;" in svg  # local time, escaped
    assert "Chưa có" in checkins_chart([], "x", "Chưa có")


def test_reason_is_one_clean_line() -> None:
    assert clean_reason("  Nhầm\n người ") == "Nhầm người"
    assert len(clean_reason("x" * 900)) == 500
