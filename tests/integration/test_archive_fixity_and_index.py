"""Fixity audits and the disposable search index, on an installation of their own (its fixity
audit runs every couple of seconds): an imported sealed record is audited intact, then found
damaged once its package is overwritten in the Object Store (event, error log line, metric);
the search index is dropped and `python -m documents.cli rebuild-search-index` brings it back.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import nats
import pytest
from nats.js.api import DeliverPolicy

from documents.archive import search
from documents.db import make_database
from tests.integration.test_archive_journey import REPO, overwrite_blob, rewrite_member
from tests.support.archive import make_ca, other_installation_package
from tests.support.congress_fixtures import admin_client, login, make_pdf
from tests.support.events import metric, service_database_url, wait_for
from tests.support.system import System, database_env, start_system

FIXITY_SECONDS = 2.0


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("fixity")
    # Databases of its own (on PostgreSQL too): the rebuild must meet only this installation's records.
    overrides = {name: database_env(name, fresh=True) for name in ("congress", "documents", "signing")}
    overrides["documents"]["FIXITY_INTERVAL_HOURS"] = str(FIXITY_SECONDS / 3600)
    system = start_system(root / "system", service_env_overrides=overrides)
    try:
        admin = admin_client(system.url)
        username = f"lt{uuid.uuid4().hex[:8]}"
        admin.post("/api/users", json={"username": username, "password": "archive-password-1",
                                       "full_name": "Lê Thị Lưu Trữ", "roles": ["archivist"]}).raise_for_status()
        archivist = login(system.url, username, "archive-password-1")
        ca = make_ca("Hội Liên hiệp Phụ nữ xã Đông Hòa")
        assert admin.post("/api/archive/trusted-cas", json={"pem": ca.pem.decode()}).status_code == 201
        congress_id = str(uuid.uuid4())
        package = other_installation_package(root / "package", ca, congress_id, "Đại hội Phụ nữ xã Đông Hòa",
                                             "Hội LHPN huyện Dĩ An", "Xã Đông Hòa", ["Huỳnh Thị Thắm"],
                                             make_pdf("Nghị quyết Đại hội xã Đông Hòa"))
        imported = archivist.post("/api/archive/import", files={"file": ("goi.zip", package.read_bytes(),
                                                                         "application/zip")})
        assert imported.status_code == 201, imported.text
        yield {"system": system, "archivist": archivist, "congress_id": congress_id, "package": package,
               "record": imported.json()}
    finally:
        system.stop()


def fixity_events(nats_url: str, congress_id: str) -> list[dict]:
    """Every documents.archive.fixity_checked event of the congress so far, oldest first."""

    async def go() -> list[dict]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            sub = await js.subscribe("documents.archive.fixity_checked", ordered_consumer=True,
                                     deliver_policy=DeliverPolicy.ALL)
            found = []
            try:
                while True:
                    msg = await sub.next_msg(timeout=0.5)
                    event = json.loads(msg.data)
                    if event.get("congress_id") == congress_id:
                        found.append(event)
            except nats.errors.TimeoutError:
                pass
            await sub.unsubscribe()
            return found
        finally:
            await nc.close()

    return asyncio.run(go())


def test_fixity_audit_reports_intact_then_names_the_damage(installation) -> None:  # type: ignore[no-untyped-def]
    system: System = installation["system"]
    congress_id = installation["congress_id"]
    intact = wait_for(lambda: [e for e in fixity_events(system.nats_url, congress_id) if e["intact"]],
                      timeout=30, interval=0.5, what="an intact fixity event")
    assert intact[0]["problems"] == [] and intact[0]["record_id"] == installation["record"]["record_id"]
    failures_before = metric(system.service_url("documents"), "archive_fixity_failures_total")

    original = installation["package"].read_bytes()
    damaged = rewrite_member(original, "data/roster.json",
                             lambda b: b.replace("Huỳnh".encode(), "Huynh".encode(), 1))
    overwrite_blob(system.nats_url, installation["record"]["package_sha256"], damaged)
    try:
        broken = wait_for(lambda: [e for e in fixity_events(system.nats_url, congress_id) if not e["intact"]],
                          timeout=30, interval=0.5, what="a fixity event naming the damage")
        problems = " ".join(broken[0]["problems"])
        assert "file_changed data/roster.json" in problems and "file_changed package" in problems, problems
        assert metric(system.service_url("documents"), "archive_fixity_failures_total") > failures_before
        assert metric(system.service_url("documents"), "archive_records_damaged") >= 1
        log = (system.data_dir / "logs" / "documents.log").read_text(encoding="utf-8", errors="replace")
        lines = [json.loads(line) for line in log.splitlines()
                 if "archive.fixity_failed" in line and congress_id in line]
        assert lines and lines[0]["level"] == "error", lines[:1]
        shown = installation["archivist"].get(f"/api/archive/records/{congress_id}").json()["fixity"]
        assert shown["intact"] is False and any("data/roster.json" in p for p in shown["problems"])
    finally:
        overwrite_blob(system.nats_url, installation["record"]["package_sha256"], original)


def test_rebuild_search_index_command_brings_the_records_back(installation) -> None:  # type: ignore[no-untyped-def]
    system: System = installation["system"]
    archivist, congress_id = installation["archivist"], installation["congress_id"]

    def found() -> set[str]:
        answer = archivist.get("/api/archive/records", params={"q": "huynh thi tham dong hoa"})
        assert answer.status_code == 200, answer.text
        return {i["congress_id"] for i in answer.json()["items"]}

    assert congress_id in found()
    proc = system.services["documents"]
    url = service_database_url("documents", proc.env, system.data_dir)

    async def drop() -> None:
        db = make_database(url)
        try:
            async with db.uow() as uow:
                await search.clear_index(uow.session)
        finally:
            await db.dispose()

    asyncio.run(drop())
    assert congress_id not in found()
    done = subprocess.run([sys.executable, "-m", "documents.cli", "rebuild-search-index"], cwd=REPO,
                          env={**os.environ, **proc.env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "indexed" in done.stdout
    assert congress_id in found()
