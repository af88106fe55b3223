"""Archive search on a real database (SQLite FTS5 by default, PostgreSQL with TEST_DATABASE=postgresql):
diacritics-insensitive, exact spelling ranked first, <mark> snippets, filters and pages."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from documents.archive import search
from documents.db import make_database
from runtime.migrations import upgrade
from tests.support.system import database_url

MIGRATIONS = Path(__file__).resolve().parents[2] / "documents" / "migrations"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    url = database_url("documents", fresh=True) or f"sqlite:///{tmp_path_factory.mktemp('search') / 'd.sqlite3'}"
    upgrade(MIGRATIONS, url)
    database = make_database(url)

    async def fill() -> None:
        async with database.uow() as uow:
            for congress_id, title, body, unit, year in [
                (A, "Đại hội Phụ nữ phường Bến Nghé lần thứ XIII", "Đại biểu Nguyễn Thị Nguyên, Trần Văn Bình",
                 "Phường Bến Nghé", 2026),
                (B, "Đại hội Đoàn Thanh niên xã Tân Phú", "Đại biểu Nguyên Thị Nguyễn, Lê Hoa", "Xã Tân Phú", 2025),
                (C, "Hội nghị tổng kết công tác hội", "Báo cáo của Hội Nông dân, không có từ khóa", "Xã Tân Phú", 2025),
            ]:
                await search.index_congress(uow.session, congress_id, [
                    {"kind": "congress", "document_id": None, "title": title, "body": body, "unit": unit,
                     "year": year},
                    {"kind": "minutes", "document_id": str(uuid.uuid4()), "title": f"Biên bản {title}",
                     "body": "Biên bản ghi lại " + body, "unit": unit, "year": year},
                ])

    asyncio.run(fill())
    yield database
    asyncio.run(database.dispose())


A, B, C = (str(uuid.uuid4()) for _ in range(3))


def query(db, q: str, **filters):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with db.session() as session:
            return await search.search(session, q, **filters)

    return asyncio.run(go())


def test_fold_handles_d_with_stroke() -> None:
    assert search.fold("Đại hội Phụ nữ ĐOÀN") == "dai hoi phu nu doan"
    assert search.fold("Nguyễn Thị Nguyên") == "nguyen thi nguyen"


def test_query_without_diacritics_finds_the_vietnamese_text(db) -> None:  # type: ignore[no-untyped-def]
    found = query(db, "dai hoi phu nu")
    assert found["items"], found
    assert {i["congress_id"] for i in found["items"]} == {A}
    assert "<mark>Đại</mark> <mark>hội</mark> <mark>Phụ</mark> <mark>nữ</mark>" in found["items"][0]["snippet"]


def test_name_without_diacritics_finds_both_spellings_and_exact_ranks_first(db) -> None:  # type: ignore[no-untyped-def]
    loose = query(db, "nguyen thi nguyen", kind="congress")
    assert {i["congress_id"] for i in loose["items"]} == {A, B}
    exact_a = query(db, "Nguyễn Thị Nguyên", kind="congress")
    assert [i["congress_id"] for i in exact_a["items"]] == [A, B]
    exact_b = query(db, "Nguyên Thị Nguyễn", kind="congress")
    assert [i["congress_id"] for i in exact_b["items"]] == [B, A]


def test_filters_and_pages(db) -> None:  # type: ignore[no-untyped-def]
    assert {i["congress_id"] for i in query(db, "dai hoi", unit="xa tan phu")["items"]} == {B}
    assert {i["congress_id"] for i in query(db, "dai hoi", year=2026)["items"]} == {A}
    first = query(db, "dai hoi", limit=2)
    assert len(first["items"]) == 2 and first["next"]
    second = query(db, "dai hoi", limit=2, cursor=first["next"])
    seen = [(i["congress_id"], i["kind"]) for i in first["items"] + second["items"]]
    assert len(seen) == len(set(seen)) == 4


def test_reindexing_a_congress_replaces_its_rows(db) -> None:  # type: ignore[no-untyped-def]
    async def reindex() -> None:
        async with db.uow() as uow:
            await search.index_congress(uow.session, C, [{"kind": "congress", "document_id": None,
                                                          "title": "Hội nghị Cựu chiến binh", "body": "",
                                                          "unit": "Xã Tân Phú", "year": 2025}])

    asyncio.run(reindex())
    assert not query(db, "nong dan")["items"]
    assert [i["congress_id"] for i in query(db, "cuu chien binh")["items"]] == [C]


def test_a_title_match_ranks_above_a_newer_text_only_match(db) -> None:  # type: ignore[no-untyped-def]
    congress = str(uuid.uuid4())

    async def index() -> None:
        async with db.uow() as uow:
            await search.index_congress(uow.session, congress, [
                {"kind": "congress", "document_id": None, "title": "Đại hội Cựu chiến binh xã Đông Hòa",
                 "body": "Nhiệm kỳ 2026-2031", "unit": "Xã Đông Hòa", "year": 2026},
                {"kind": "minutes", "document_id": str(uuid.uuid4()), "title": "Báo cáo tài chính",
                 "body": "Kinh phí tổ chức đại hội cựu chiến binh năm 2026", "unit": "Xã Đông Hòa", "year": 2026},
            ])

    asyncio.run(index())
    found = query(db, "dai hoi cuu chien binh", unit="xa dong hoa")["items"]
    assert [i["title"] for i in found] == ["Đại hội Cựu chiến binh xã Đông Hòa", "Báo cáo tài chính"]


def test_a_query_matching_more_than_the_window_ranks_the_newest_and_says_so(
    db, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    everything = query(db, "dai hoi", limit=50)["items"]
    assert len(everything) >= 4
    monkeypatch.setattr(search, "RANK_WINDOW", 2)
    windowed = query(db, "dai hoi", limit=50)
    if db.url.startswith("postgresql"):  # ts_rank_cd ranks every match: nothing is capped there
        assert windowed["capped"] is None and len(windowed["items"]) == len(everything)
        return
    assert windowed["capped"] == 2
    assert len(windowed["items"]) == 2 and windowed["next"] is None
