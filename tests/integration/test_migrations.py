"""Every service's migrations keep an older database's rows, on SQLite and on PostgreSQL.

For each service and each engine: migrate a fresh database to the revision before head, fill
every table that exists there with rows like the service writes (a secretary, a congress, its
delegates, documents, signature requests...), migrate to head, and read the rows back with the
current code's table definitions; then down to the previous revision and up again (the rows
survive), then down to the base and up again on the emptied database. Separately, the tables
the code defines must be exactly those its migrations make (alembic's autogenerate comparison
finds nothing), so a table or column added without a migration fails here.

The last test lets the service processes themselves migrate seeded databases at start-up (as an
upgrade in production does) and reads the old rows through their APIs, behind Caddy.

PostgreSQL databases are created fresh on 127.0.0.1:5432 and dropped afterwards; the engine
of the API test follows TEST_DATABASE like the rest of the integration tier.
"""

from __future__ import annotations

import hashlib
import importlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from sqlalchemy import (
    JSON,
    Boolean,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    inspect,
    insert,
    select,
    text,
)

from runtime.db import UTCDateTime, sync_url
from runtime.migrations import alembic_config
from runtime.processes import REPO_ROOT
from runtime.settings import SERVICES
from tests.support.system import database_url, start_system

ENGINES = ("sqlite", "postgresql")

# Objects the migrations make in SQL because SQLAlchemy's metadata cannot describe them: the
# archive's full-text index (an FTS5 virtual table and its shadow tables on SQLite, a tsvector
# column with its GIN index on PostgreSQL).
SQL_ONLY_TABLES = {"archive_fts", "archive_fts_data", "archive_fts_idx", "archive_fts_docsize", "archive_fts_config"}
SQL_ONLY_COLUMNS = {("archive_search", "tsv")}
SQL_ONLY_INDEXES = {"ix_archive_search_tsv"}

# Key material the service makes and decrypts at start with its SECRET_KEY: a made-up row is a
# broken key, so the API test leaves these tables empty (the table-level tests fill them too).
KEY_TABLES = {"congress": {"signing_keys"}, "documents": {"archive_trusted_cas"}, "signing": {"ca", "certificates"}}

T0 = datetime(2026, 3, 8, 1, 30, 15, 123456, tzinfo=UTC)  # 08:30 in Hà Nội, 8 March


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"paperless-congress/migration-test/{name}"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


SECRETARY_ID, FORMER_ID = _id("secretary"), _id("former")
SECRETARY_USERNAME, SECRETARY_PASSWORD = "thu-ky-ben-nghe", "Mật-khẩu-cũ-2025!"
CONGRESS_ID = _id("congress")
CONGRESS_TITLE = "Đại hội đại biểu Hội Liên hiệp Phụ nữ phường Bến Nghé lần thứ XIII, nhiệm kỳ 2026–2031"
DELEGATES = {_id(f"delegate-{i}"): (name, unit) for i, (name, unit) in enumerate([
    ("Nguyễn Thị Ánh Tuyết", "Chi hội khu phố 1"),
    ("Trần Thị Bích Ngọc", "Chi hội khu phố 2"),
    ("Lê Thị Hồng Nhung", "Chi hội khu phố 3"),
])}
PRESENT = next(iter(DELEGATES))
AGENDA = {_id("agenda-1"): "Khai mạc đại hội", _id("agenda-2"): "Báo cáo chính trị nhiệm kỳ 2021–2026"}
DOCUMENT_ID, DOCUMENT_TITLE = _id("document"), "Báo cáo chính trị trình Đại hội lần thứ XIII"
DOCUMENT_SHA = _sha("báo cáo chính trị v1")
SIGNED_SHA = _sha("báo cáo chính trị v1, đã ký")
REQUEST_ID, REQUEST_TITLE = _id("request"), "Ký duyệt báo cáo chính trị"
PUBLICATION_ID = _id("publication")


def _person(user_id: str, username: str, full_name: str, roles: list[str], active: bool) -> dict[str, Any]:
    return {"user_id": user_id, "username": username, "full_name": full_name, "roles": roles, "active": active,
            "organisation": "Hội LHPN phường Bến Nghé", "updated_at": T0}


STAFF_COPIES = [
    _person(SECRETARY_ID, SECRETARY_USERNAME, "Phạm Thị Thu Hà", ["secretary", "signer"], True),
    _person(FORMER_ID, "can-bo-cu", "Đỗ Thị Lan", ["secretary"], False),
]
CONGRESS_FACTS = {"id": CONGRESS_ID, "title": CONGRESS_TITLE, "organisation": "Hội Liên hiệp Phụ nữ",
                  "unit": "Phường Bến Nghé", "venue": "Hội trường UBND phường", "starts_at": T0,
                  "ends_at": T0 + timedelta(hours=8), "quorum": 0.5, "updated_at": T0}


def realistic_rows() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """service -> table -> rows as the service writes them (columns left out are filled by type)."""
    password_hash = PasswordHasher().hash(SECRETARY_PASSWORD)
    delegates = [{"id": d, "congress_id": CONGRESS_ID, "full_name": name, "unit": unit, "delegate_type": "Đại biểu chính thức"}
                 for d, (name, unit) in DELEGATES.items()]
    agenda = [{"id": a, "congress_id": CONGRESS_ID, "position": i + 1, "title": t, "description": ""}
              for i, (a, t) in enumerate(AGENDA.items())]
    return {
        "congress": {
            "users": [
                {"id": p["user_id"], "username": p["username"], "full_name": p["full_name"], "roles": p["roles"],
                 "active": p["active"], "organisation": p["organisation"], "email": f"{p['username']}@hoiphunu.vn",
                 "password_hash": password_hash, "created_at": T0, "updated_at": T0, "password_changed_at": T0}
                for p in STAFF_COPIES
            ],
            "congresses": [{k: v for k, v in CONGRESS_FACTS.items()} | {
                "state": "open", "created_by": SECRETARY_ID, "created_at": T0, "opened_at": T0, "closed_at": None}],
            "congress_staff": [{"congress_id": CONGRESS_ID, "user_id": SECRETARY_ID, "added_by": SECRETARY_ID,
                                "added_at": T0}],
            "agenda_items": agenda,
            "delegates": [d | {"name_key": f"{d['full_name'].casefold()}|{d['unit'].casefold()}",
                               "phone": f"09123456{i:02d}", "email": "", "secrets_generation": 1,
                               "checkin_hash": _sha(f"checkin-{i}"), "link_hash": _sha(f"link-{i}"),
                               "checked_in_at": T0 if d["id"] == PRESENT else None,
                               "created_at": T0, "updated_at": T0}
                          for i, d in enumerate(delegates)],
            "checkins": [{"delegate_id": PRESENT, "congress_id": CONGRESS_ID, "checked_in_at": T0,
                          "checked_in_by": SECRETARY_ID, "method": "badge"}],
            "document_versions": [{"document_id": DOCUMENT_ID, "version": 1, "congress_id": CONGRESS_ID,
                                   "sha256": DOCUMENT_SHA, "title": DOCUMENT_TITLE, "kind": "report", "pages": 12,
                                   "size": 48213, "content_type": "application/pdf",
                                   "agenda_item_id": next(iter(AGENDA)), "approved_at": None}],
            "publications": [{"id": PUBLICATION_ID, "token": "Qx7mK2pL9vR4sT1w", "congress_id": CONGRESS_ID,
                              "document_id": DOCUMENT_ID, "version": 1, "sha256": DOCUMENT_SHA,
                              "title": DOCUMENT_TITLE, "kind": "report", "content_type": "application/pdf",
                              "size": 48213, "audience": "public", "state": "active", "published_by": SECRETARY_ID,
                              "published_at": T0, "revoked_at": None, "views": 3, "unique_delegates": 1}],
            "signature_requests": [{"request_id": REQUEST_ID, "congress_id": CONGRESS_ID, "document_id": DOCUMENT_ID,
                                    "version": 1, "title": REQUEST_TITLE, "requested_by": SECRETARY_USERNAME,
                                    "state": "open", "updated_at": T0}],
        },
        "documents": {
            "staff_users": STAFF_COPIES,
            "congress_staff": [{"congress_id": CONGRESS_ID, "user_id": SECRETARY_ID, "removed": False}],
            "congresses": [CONGRESS_FACTS | {"closed_at": None}],
            "agenda_items": agenda,
            "delegates": [d | {"removed": False, "registered_at": T0} for d in delegates],
            "checkins": [{"delegate_id": PRESENT, "congress_id": CONGRESS_ID, "checked_in_at": T0, "removed": False}],
            "documents": [{"id": DOCUMENT_ID, "congress_id": CONGRESS_ID, "title": DOCUMENT_TITLE, "kind": "report",
                           "agenda_item_id": next(iter(AGENDA)), "created_by": SECRETARY_ID, "created_at": T0,
                           "updated_at": T0}],
            "document_versions": [{"document_id": DOCUMENT_ID, "version": 1, "sha256": DOCUMENT_SHA, "size": 48213,
                                   "pages": 12, "content_type": "application/pdf", "file_name": "bao-cao-chinh-tri.pdf",
                                   "text": "Báo cáo chính trị — tóm tắt", "status": "in_review",
                                   "approved_via": None, "approved_at": None, "signed": False, "request_id": None,
                                   "source_version": None, "created_by": SECRETARY_ID, "created_at": T0}],
            "signing_requests": [{"request_id": REQUEST_ID, "document_id": DOCUMENT_ID, "version": 1, "status": "open",
                                  "final_sha256": None, "imported_version": None, "created_at": T0, "updated_at": T0}],
            "publications": [{"id": PUBLICATION_ID, "congress_id": CONGRESS_ID, "document_id": DOCUMENT_ID,
                              "version": 1, "audience": "public", "published_at": T0, "revoked_at": None}],
        },
        "signing": {
            "staff_users": STAFF_COPIES,
            "congress_staff": [{"congress_id": CONGRESS_ID, "user_id": SECRETARY_ID, "removed": False}],
            "documents_seen": [{"document_id": DOCUMENT_ID, "version": 1, "congress_id": CONGRESS_ID,
                                "sha256": DOCUMENT_SHA, "title": DOCUMENT_TITLE, "kind": "report", "pages": 12,
                                "content_type": "application/pdf"}],
            "signature_requests": [{"id": REQUEST_ID, "congress_id": CONGRESS_ID, "document_id": DOCUMENT_ID,
                                    "version": 1, "title": REQUEST_TITLE, "original_sha256": DOCUMENT_SHA,
                                    "prepared_sha256": _sha("prepared"), "current_sha256": _sha("prepared"),
                                    "state": "open", "requested_by": SECRETARY_ID,
                                    "requested_by_username": SECRETARY_USERNAME,
                                    "message": "Kính đề nghị đồng chí Chủ tịch ký.", "due": T0 + timedelta(days=2),
                                    "created_at": T0, "updated_at": T0, "completion_certificate_sha256": None}],
            "signature_slots": [{"request_id": REQUEST_ID, "position": 1, "username": SECRETARY_USERNAME,
                                 "user_id": SECRETARY_ID, "full_name": "Phạm Thị Thu Hà", "role": "signer",
                                 "state": "waiting", "verification_code": None, "signed_at": None,
                                 "signed_sha256": None, "certificate_sha256": None, "reason": None}],
            "signing_audit": [{"id": _id("audit-1"), "request_id": REQUEST_ID, "action": "requested",
                               "actor": SECRETARY_USERNAME, "at": T0, "ip": "192.168.1.20",
                               "user_agent": "Mozilla/5.0 (Linux; Android 11)", "detail": {"signers": 1}}],
        },
    }


# --------------------------------------------------------------------------- filling by type

VIETNAMESE = "Biên bản Đại hội đại biểu phụ nữ phường Bến Nghé — nghị quyết nhiệm kỳ 2026–2031 "


def typed_value(table: Table, column: Any, index: int) -> Any:
    """A plausible value of the column's type, distinct per row (unique columns stay unique)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return T0 + timedelta(minutes=index)
    if isinstance(kind, Boolean):
        return index % 2 == 0
    if isinstance(kind, Integer):
        return index + 1
    if isinstance(kind, Float):
        return 0.5 + index / 100
    if isinstance(kind, JSON):
        return {"ghi_chú": f"Đại hội {index}", "số": [index, index + 1]}
    if isinstance(kind, LargeBinary):
        return f"nội dung {index}".encode()
    if isinstance(kind, Text):
        return f"{VIETNAMESE} ({table.name}.{column.name} #{index})"
    if isinstance(kind, String):
        length = kind.length or 200
        if column.name == "id" or column.name.endswith("_id") or length == 36:
            return _id(f"{table.name}.{column.name}.{index}")[:length]
        if length >= 64 and any(w in column.name for w in ("sha", "hash", "fingerprint")):
            return _sha(f"{table.name}.{column.name}.{index}")
        return f"{index}-{VIETNAMESE}"[:length]
    raise AssertionError(f"no made-up value for {table.name}.{column.name} of type {kind!r}")


def rows_for(service: str, metadata: MetaData, tables: set[str], *, key_tables: bool) -> dict[str, list[dict]]:
    """Rows for every table of `tables` (those that exist at the old revision): the realistic
    ones, completed by type, and two made-up rows where there are no realistic ones."""
    realistic = realistic_rows()[service]
    rows: dict[str, list[dict]] = {}
    for table in metadata.sorted_tables:  # referenced tables first
        name = table.name
        if name not in tables or (not key_tables and name in KEY_TABLES[service]):
            continue
        partial = realistic.get(name) or [{}, {}]
        # a column the database numbers is left to it, as the service leaves it (on PostgreSQL a
        # number given by hand would not move the sequence)
        columns = [c for c in table.columns if c is not table.autoincrement_column]
        rows[name] = [{c.name: row[c.name] if c.name in row else typed_value(table, c, i) for c in columns}
                      for i, row in enumerate(partial)]
    return rows


# --------------------------------------------------------------------------- alembic plumbing


def migrations(service: str) -> Path:
    return REPO_ROOT / service / "migrations"


def previous_and_head(service: str) -> tuple[str, str]:
    script = ScriptDirectory.from_config(alembic_config(migrations(service), "sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1, f"{service}: migrations have several heads {heads}: merge them"
    previous = script.get_revision(heads[0]).down_revision
    assert isinstance(previous, str), f"{service}: head {heads[0]} has no single previous revision"
    return previous, heads[0]


def alembic(service: str, url: str, action: str, revision: str) -> None:
    getattr(command, action)(alembic_config(migrations(service), url), revision)


def service_metadata(service: str) -> MetaData:
    return importlib.import_module(f"{service}.db").metadata


def existing_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"} - SQL_ONLY_TABLES


def existing_columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def insert_rows(engine: Engine, metadata: MetaData, rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Insert with the current table definitions (the service's own types, so stored values look
    like the service's), restricted to the columns the old revision has; returns what it wrote."""
    written: dict[str, list[dict]] = {}
    with engine.begin() as conn:
        for name, table_rows in rows.items():
            present = existing_columns(engine, name)
            # a copy with only those columns: the current table would add the Python-side defaults
            # of newer columns to the INSERT
            old = Table(name, MetaData(), *(c._copy() for c in metadata.tables[name].columns if c.name in present))
            written[name] = [{k: v for k, v in r.items() if k in present} for r in table_rows]
            conn.execute(insert(old), written[name])
    return written


def row_key(table: Table) -> list[Any]:
    """The columns that name a row: the primary key unless the database numbers it, else a unique
    constraint (`seals` has no primary key), else every other column that compares as a value
    (the outbox: its JSON headers read back as a dict)."""
    if table.primary_key.columns and table.autoincrement_column is None:
        return list(table.primary_key.columns)
    unique = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    if unique:
        return list(unique[0].columns)
    return [c for c in table.columns if c is not table.autoincrement_column and not isinstance(c.type, JSON)]


def unreadable_rows(engine: Engine, metadata: MetaData, rows: dict[str, list[dict]]) -> list[str]:
    """Rows that the current table definitions do not read back as they were written: at head,
    with a select of every column the code defines (as the service's own queries do); at an
    older revision, of the columns that revision has."""
    wrong: list[str] = []
    with engine.connect() as conn:
        for name, written in rows.items():
            table = metadata.tables[name]
            present = existing_columns(engine, name)
            key = row_key(table)
            selected = [c for c in table.columns if c.name in present]
            found = {tuple(getattr(r, c.name) for c in key): r._asdict() for r in conn.execute(select(*selected))}
            if len(found) != len(written):
                wrong.append(f"{name}: {len(found)} rows, {len(written)} written")
            for row in written:
                read = found.get(tuple(row[c.name] for c in key))
                if read is None:
                    wrong.append(f"{name}: row {[row[c.name] for c in key]} is gone")
                    continue
                wrong += [f"{name}.{c}: wrote {v!r}, read {read[c]!r}" for c, v in row.items() if read[c] != v]
    return wrong


def schema_differences(engine: Engine, metadata: MetaData) -> list[Any]:
    def include(obj: Any, name: str | None, kind: str, reflected: bool, _compare_to: Any) -> bool:
        if kind == "table":
            return name not in SQL_ONLY_TABLES
        if kind == "column":
            return (obj.table.name, name) not in SQL_ONLY_COLUMNS
        if kind == "index":
            return name not in SQL_ONLY_INDEXES
        return True

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
        return compare_metadata(context, metadata)


# --------------------------------------------------------------------------- databases


@pytest.fixture
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A function making an empty database of the test's engine for a service."""

    def make(engine_name: str, service: str) -> str:
        if engine_name == "sqlite":
            return f"sqlite:///{tmp_path / f'{service}.sqlite'}"
        return request.getfixturevalue("postgres").create(service, fresh=True)

    return make


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("service", SERVICES)
def test_rows_survive_the_latest_migration_and_a_round_trip(service: str, engine_name: str, fresh_url: Any) -> None:
    previous, head = previous_and_head(service)
    url = fresh_url(engine_name, service)
    metadata = service_metadata(service)
    engine = create_engine(sync_url(url))
    try:
        alembic(service, url, "upgrade", previous)
        old_tables = existing_tables(engine)
        dropped = old_tables - set(metadata.tables)
        assert not dropped, f"{service}: head drops {dropped}: say here what becomes of their rows"
        rows = rows_for(service, metadata, old_tables, key_tables=True)
        assert set(rows) == old_tables
        written = insert_rows(engine, metadata, rows)

        alembic(service, url, "upgrade", head)
        assert existing_tables(engine) == set(metadata.tables)
        assert all(existing_columns(engine, t.name) >= {c.name for c in t.columns} for t in metadata.sorted_tables)
        assert unreadable_rows(engine, metadata, written) == []

        alembic(service, url, "downgrade", previous)
        assert existing_tables(engine) == old_tables
        assert unreadable_rows(engine, metadata, written) == []
        alembic(service, url, "upgrade", head)
        assert unreadable_rows(engine, metadata, written) == []

        # every downgrade runs, down to nothing, and the schema comes back whole
        alembic(service, url, "downgrade", "base")
        assert existing_tables(engine) == set()
        alembic(service, url, "upgrade", head)
        assert existing_tables(engine) == set(metadata.tables)
    finally:
        engine.dispose()


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("service", SERVICES)
def test_tables_in_code_match_the_migrations(service: str, engine_name: str, fresh_url: Any) -> None:
    url = fresh_url(engine_name, service)
    alembic(service, url, "upgrade", "head")
    engine = create_engine(sync_url(url))
    try:
        assert schema_differences(engine, service_metadata(service)) == []
    finally:
        engine.dispose()


def test_services_migrate_old_databases_at_start_and_serve_their_rows(tmp_path: Path) -> None:
    """Seeded at the previous revision; the service processes run the upgrade themselves."""
    urls: dict[str, str] = {}
    for service in SERVICES:
        url = database_url(service, fresh=True) or f"sqlite:///{tmp_path / 'data' / f'{service}.sqlite'}"
        (tmp_path / "data").mkdir(exist_ok=True)
        previous, _head = previous_and_head(service)
        alembic(service, url, "upgrade", previous)
        engine = create_engine(sync_url(url))
        try:
            rows = rows_for(service, service_metadata(service), existing_tables(engine), key_tables=False)
            insert_rows(engine, service_metadata(service), rows)
        finally:
            engine.dispose()
        urls[service] = url

    overrides = {s: {f"{s.upper()}_DATABASE_URL": url} for s, url in urls.items()}
    with start_system(tmp_path / "system", service_env_overrides=overrides) as system:
        client = httpx.Client(base_url=system.url, timeout=30)
        login = client.post("/api/auth/login", json={"username": SECRETARY_USERNAME, "password": SECRETARY_PASSWORD})
        assert login.status_code == 200, login.text  # the old password hash still verifies
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

        congress = client.get(f"/api/congresses/{CONGRESS_ID}")
        assert congress.status_code == 200, congress.text
        assert congress.json()["title"] == CONGRESS_TITLE
        delegates = client.get(f"/api/congresses/{CONGRESS_ID}/delegates").json()["items"]
        assert sorted(d["full_name"] for d in delegates) == sorted(name for name, _ in DELEGATES.values())

        documents = client.get("/api/documents", params={"congress_id": CONGRESS_ID})
        assert documents.status_code == 200, documents.text
        assert [d["title"] for d in documents.json()["items"]] == [DOCUMENT_TITLE]

        request = client.get(f"/api/signing/requests/{REQUEST_ID}")
        assert request.status_code == 200, request.text
        assert (request.json()["title"], request.json()["state"]) == (REQUEST_TITLE, "open")

        for service in SERVICES:  # the processes, not this test, brought each database to head
            engine = create_engine(sync_url(urls[service]))
            try:
                with engine.connect() as conn:
                    version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            finally:
                engine.dispose()
            assert version == previous_and_head(service)[1]
