"""The upload flow end to end with the real congress service: a secretary logs in and creates a
congress there, then uploads through Caddy to the documents service with the bearer token. The
documents service learns the congress, its agenda and its staff only from the congress service's
own events; this test publishes none."""

from __future__ import annotations

import hashlib
import secrets

import httpx

from tests.support.congress_fixtures import admin_client, login
from tests.support.documents import vietnamese_pdf
from tests.support.events import wait_for
from tests.support.system import System

TITLE = "Báo cáo chính trị Đại hội đại biểu Phụ nữ phường Bến Thành lần thứ XV"
PASSWORD = "mat-khau-thu-ky-1"


def _new_user(admin: httpx.Client, username: str, full_name: str, roles: list[str]) -> str:
    r = admin.post("/api/users", json={"username": username, "password": PASSWORD, "full_name": full_name,
                                       "roles": roles})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_secretary_creates_a_congress_and_uploads_to_it_through_caddy(system: System) -> None:
    suffix = secrets.token_hex(3)
    admin = admin_client(system.url)
    try:
        _new_user(admin, f"thuky-{suffix}", "Nguyễn Thị Nguyên", ["secretary"])
        member_id = _new_user(admin, f"uyvien-{suffix}", "Phạm Thị Thuý Hải", ["signer"])
        _new_user(admin, f"thuky-khac-{suffix}", "Đặng Thị Quyên", ["secretary"])
    finally:
        admin.close()

    # POST /api/auth/login through Caddy; the clients then carry the bearer token only
    secretary = login(system.url, f"thuky-{suffix}", PASSWORD)
    member = login(system.url, f"uyvien-{suffix}", PASSWORD)
    outsider = login(system.url, f"thuky-khac-{suffix}", PASSWORD)
    try:
        created = secretary.post("/api/congresses", json={"title": "Đại hội Phụ nữ phường Bến Thành", "quorum": 0.5})
        assert created.status_code == 201, created.text
        congress_id = created.json()["id"]
        item = secretary.post(f"/api/congresses/{congress_id}/agenda", json={"title": "Báo cáo chính trị"})
        assert item.status_code == 201, item.text
        item_id = item.json()["id"]

        pdf = vietnamese_pdf([TITLE, "Nguyễn Thị Nguyên", "Phạm Thị Thuý Hải", "Đặng Thị Quyên"])
        fields = {"congress_id": congress_id, "title": TITLE, "kind": "report", "agenda_item_id": item_id}

        def upload() -> httpx.Response | None:
            r = secretary.post("/api/documents", data=fields, files={"file": ("bao-cao.pdf", pdf, "application/pdf")})
            # Until the congress, its staff and its agenda have arrived: the congress is unknown
            # (404), then the agenda item is (422 unknown_agenda_item). Anything else is the answer.
            not_yet = r.status_code == 404 or (r.status_code == 422
                                               and r.json()["error"]["code"] == "unknown_agenda_item")
            return None if not_yet else r

        uploaded = wait_for(upload, timeout=30, what="the documents service to learn the congress from its events")
        assert uploaded.status_code == 201, uploaded.text
        doc = uploaded.json()
        assert doc["sha256"] == hashlib.sha256(pdf).hexdigest()
        assert (doc["congress_id"], doc["agenda_item_id"], doc["title"], doc["status"]) == (
            congress_id, item_id, TITLE, "draft")

        listed = secretary.get("/api/documents", params={"congress_id": congress_id})
        assert listed.status_code == 200 and [d["id"] for d in listed.json()["items"]] == [doc["id"]]
        got = secretary.get(f"/api/documents/{doc['id']}/file", params={"version": 1})
        assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == doc["sha256"]

        # Staff of the congress only: a secretary of no congress, and the member before being
        # added, find nothing; once the congress service adds the member, they read it.
        assert outsider.get(f"/api/documents/{doc['id']}").status_code == 404
        assert member.get(f"/api/documents/{doc['id']}").status_code == 404
        added = secretary.post(f"/api/congresses/{congress_id}/staff", json={"user_id": member_id})
        assert added.status_code == 201, added.text
        seen = wait_for(lambda: (r := member.get(f"/api/documents/{doc['id']}")).status_code != 404 and r,
                        timeout=30, what="the documents service to learn the new staff member from the events")
        assert seen.status_code == 200 and seen.json()["versions"][0]["sha256"] == doc["sha256"]
        assert member.post(f"/api/documents/{doc['id']}/versions",
                           files={"file": ("v2.pdf", vietnamese_pdf(["Bản sửa"]))}).status_code == 403
    finally:
        for client in (secretary, member, outsider):
            client.close()
