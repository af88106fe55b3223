"""The documents service for real: nats-server, the documents service under uvicorn (twice: one
behind Caddy handing downloads to it, one streaming bytes itself), Caddy, congress and signing
facts published as events, tokens verified with keys read from KV.

Covers the proof of the documents issue: Vietnamese round trip, Range and 304 on both download
paths, identical uploads stored once, each bad input refused with nothing left behind, the
approval workflow driven by events, no endpoint changing an approved version, and rendered
PDFs read back with pdftotext and pypdf.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

import contracts.congress as cc
import contracts.signing as cs
from documents.db import metadata
from runtime.processes import ServiceProcess
from tests.support.documents import (
    Staff,
    TokenMinter,
    blob_info,
    bomb_pdf,
    congress_events,
    encrypted_pdf,
    mp4_bytes,
    put_blob,
    send,
    user_events,
    vietnamese_pdf,
)
from tests.support.events import DatabaseReader, metric, service_database_url, wait_for
from tests.support.system import System, database_env, service_env, start_system

NAMES = ["Nguyễn Thị Nguyên", "Phạm Thị Thuý Hải", "Đặng Thị Quyên"]
TITLE = "Báo cáo chính trị Đại hội Phụ nữ phường nhiệm kỳ 2026–2031"
LIMITS = {"MAX_PDF_BYTES": str(1024 * 1024), "MAX_VIDEO_BYTES": str(2 * 1024 * 1024), "MAX_PDF_PAGES": "40"}
CRASH_LEFTOVER = "upload-left-by-a-crash"


@dataclass
class World:
    system: System
    direct: ServiceProcess  # ACCEL_REDIRECT=false: streams the bytes itself
    db: DatabaseReader
    secretary: Staff
    member: Staff  # staff of the congress without the secretary role
    outsider: Staff  # a secretary of another congress
    congress_id: str
    other_congress_id: str
    agenda_item_id: str

    @property
    def url(self) -> str:
        return self.system.url

    def count(self, table: str) -> int:
        return len(self.db.rows(table))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("documents")
    leftover = data_dir / "tmp" / CRASH_LEFTOVER  # half an upload, two hours old, from a crash
    leftover.parent.mkdir()
    leftover.write_bytes(b"%PDF-1.7 half an upload")
    two_hours_ago = time.time() - 7200
    os.utime(leftover, (two_hours_ago, two_hours_ago))
    system = start_system(data_dir, services=("documents",), extra_env=LIMITS)
    direct = None
    try:
        env = {**database_env("documents"), **service_env("documents", system.nats_url, data_dir, system.url, LIMITS),
               "ACCEL_REDIRECT": "false"}
        direct = ServiceProcess("documents", env=env, log_path=data_dir / "logs" / "documents-direct.log").start()
        minter = TokenMinter(system.nats_url)
        minter.publish_key()
        secretary = minter.staff("thuky", ["secretary"])
        member = minter.staff("uyvien", ["signer"])
        outsider = minter.staff("thuky-khac", ["secretary"])
        congress_id, other_id, item_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        send(system.nats_url, [
            *user_events(secretary, NAMES[0]), *user_events(member, NAMES[1]), *user_events(outsider, NAMES[2]),
            *congress_events(congress_id, "Đại hội đại biểu Phụ nữ phường Bến Nghé lần thứ XV", [secretary, member],
                             agenda=[(item_id, "Báo cáo chính trị"), (uuid.uuid4(), "Bầu Ban Chấp hành")]),
            *congress_events(other_id, "Đại hội khác", [outsider]),
        ])
        db = DatabaseReader(service_database_url("documents", database_env("documents"), data_dir), metadata)
        # Two replicas share the consumers and may apply a batch each, in either order: wait for
        # every fact the tests rely on, not only for the last one sent.
        wait_for(lambda: (len(db.rows("congresses")) == 2 and len(db.rows("agenda_items")) == 2
                          and len(db.rows("congress_staff")) == 3), timeout=30,
                 what="the congress facts to reach the documents service")
        wait_for(lambda: httpx.get(f"{system.url}/api/documents", params={"congress_id": str(congress_id)},
                                   headers=secretary.headers).status_code == 200, what="the test key to be loaded")
        yield World(system, direct, db, secretary, member, outsider, str(congress_id), str(other_id), str(item_id))
        db.close()
    finally:
        if direct is not None:
            direct.stop()
        system.stop()


def upload(world: World, data: bytes, *, who: Staff | None = None, kind: str = "report", title: str = TITLE,
           file_name: str = "bao-cao.pdf", congress_id: str | None = None, base: str | None = None,
           extra: dict[str, str] | None = None) -> httpx.Response:
    fields = {"congress_id": congress_id or world.congress_id, "title": title, "kind": kind, **(extra or {})}
    return httpx.post(f"{base or world.url}/api/documents", data=fields, files={"file": (file_name, data)},
                      headers=(who or world.secretary).headers, timeout=60)


def tmp_files(world: World) -> list[Path]:
    tmp = world.system.data_dir / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


# -- round trip ----------------------------------------------------------------------------


def test_upload_leftovers_of_a_crash_are_removed_at_start(world: World) -> None:
    assert not (world.system.data_dir / "tmp" / CRASH_LEFTOVER).exists()


def test_upload_and_download_round_trip_keeps_vietnamese_exact(world: World) -> None:
    data = vietnamese_pdf([TITLE, *NAMES], pages=2)
    r = upload(world, data, extra={"agenda_item_id": world.agenda_item_id})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert (body["version"], body["size"], body["pages"], body["status"]) == (1, len(data), 2, "draft")
    assert body["title"] == TITLE and body["agenda_item_id"] == world.agenda_item_id

    shown = httpx.get(f"{world.url}/api/documents/{body['id']}", headers=world.secretary.headers).json()
    assert [(v["version"], v["sha256"], v["status"], v["signed"]) for v in shown["versions"]] == [
        (1, body["sha256"], "draft", False)]

    for base in (world.url, world.direct.url):  # through Caddy (X-Accel-Redirect) and streamed by the service
        got = httpx.get(f"{base}/api/documents/{body['id']}/file", params={"version": 1}, headers=world.secretary.headers)
        assert got.status_code == 200, (base, got.text)
        assert hashlib.sha256(got.content).hexdigest() == body["sha256"]
        assert got.headers["etag"] == f'"{body["sha256"]}"'
        assert got.headers["cache-control"] == "private, max-age=31536000, immutable"
        assert got.headers["content-type"] == "application/pdf"
        disposition = got.headers["content-disposition"]
        assert "filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20ch%C3%ADnh%20tr%E1%BB%8B" in disposition
        assert 'filename="Bao cao chinh tri Dai hoi Phu nu phuong nhiem ky 2026-2031.pdf"' in disposition
        assert "x-accel-redirect" not in got.headers

    text = next(v["text"] for v in world.db.rows("document_versions") if v["sha256"] == body["sha256"])
    for name in NAMES:
        assert name in text  # extracted once, NFC, kept for search


@pytest.mark.parametrize("through", ["caddy", "direct"])
def test_range_and_conditional_requests(world: World, through: str) -> None:
    data = vietnamese_pdf([f"Tài liệu tham khảo {through}", *NAMES], pages=3)
    doc = upload(world, data, kind="reference").json()
    base = world.url if through == "caddy" else world.direct.url
    url, auth = f"{base}/api/documents/{doc['id']}/file", world.secretary.headers
    etag = f'"{doc["sha256"]}"'

    part = httpx.get(url, params={"version": 1}, headers={**auth, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = httpx.get(url, params={"version": 1}, headers={**auth, "Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    beyond = httpx.get(url, params={"version": 1}, headers={**auth, "Range": f"bytes={len(data) + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"
    same = httpx.get(url, params={"version": 1}, headers={**auth, "Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == data[:10]
    stale = httpx.get(url, params={"version": 1}, headers={**auth, "Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.content == data

    unchanged = httpx.get(url, params={"version": 1}, headers={**auth, "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    changed = httpx.get(url, params={"version": 1}, headers={**auth, "If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == data
    head = httpx.head(url, params={"version": 1}, headers=auth)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data)) and head.content == b""

    # Without a version: the latest approved one, revalidated every time; none approved yet -> 404.
    assert httpx.get(url, headers=auth).status_code == 404
    assert httpx.post(f"{base}/api/documents/{doc['id']}/approve", headers=auth).status_code == 200
    latest = httpx.get(url, headers=auth)
    assert latest.status_code == 200 and latest.content == data
    assert latest.headers["cache-control"] == "private, no-cache"


def test_identical_uploads_are_stored_once(world: World) -> None:
    data = vietnamese_pdf(["Nghị quyết Đại hội", NAMES[2]])
    first = upload(world, data, kind="resolution").json()
    stored = blob_info(world.system.nats_url, first["sha256"])
    assert stored is not None and stored.size == len(data)
    second = upload(world, data, kind="resolution", title="Nghị quyết (bản gửi lại)").json()
    assert second["id"] != first["id"] and second["sha256"] == first["sha256"]
    again = blob_info(world.system.nats_url, first["sha256"])
    assert again.nuid == stored.nuid  # the same object: its bytes were not sent a second time
    # The same bytes as the latest version, sent as a new version: the first result, not a new version.
    repeat = httpx.post(f"{world.url}/api/documents/{first['id']}/versions", files={"file": ("x.pdf", data)},
                        headers=world.secretary.headers)
    assert repeat.status_code == 200 and repeat.json()["version"] == 1


# -- refusals: each bad input gets its status and leaves nothing behind ---------------------


def _bad_inputs() -> list[tuple[str, bytes, dict, int, str]]:
    good = vietnamese_pdf(["Biên bản kiểm phiếu"])
    return [
        ("text named .pdf", "Đây không phải PDF".encode() * 50, {}, 415, "unsupported_file_type"),
        ("html named .pdf", b"<html><body>%PDF-1.7</body></html>", {}, 415, "unsupported_file_type"),
        ("encrypted", encrypted_pdf(good), {}, 422, "pdf_encrypted"),
        ("damaged", good[: len(good) // 2], {}, 422, "pdf_damaged"),
        ("too many pages", vietnamese_pdf(["Trang"], pages=41), {}, 422, "pdf_too_many_pages"),
        ("decompression bomb", bomb_pdf(), {}, 422, "pdf_too_complex"),
        ("over the PDF limit", good + b"%" + b"x" * (1024 * 1024), {}, 413, "upload_too_large"),
        ("video kind with a PDF", good, {"kind": "video"}, 422, "video_needs_mp4"),
        ("report kind with an MP4", mp4_bytes(), {"kind": "report"}, 422, "document_needs_pdf"),
        ("video over its limit", mp4_bytes(2 * 1024 * 1024 + 10), {"kind": "video"}, 413, "upload_too_large"),
        ("unknown agenda item", good, {"agenda_item_id": str(uuid.uuid4())}, 422, "unknown_agenda_item"),
        ("unknown kind", good, {"kind": "poster"}, 422, "field_invalid"),
        ("empty title", good, {"title": "  "}, 422, "field_required"),
        ("empty file", b"", {}, 422, "file_empty"),
    ]


@pytest.mark.parametrize(("case", "data", "fields", "status", "code"), _bad_inputs(), ids=[c[0] for c in _bad_inputs()])
def test_bad_input_is_refused_and_nothing_is_stored(world: World, case: str, data: bytes, fields: dict,
                                                    status: int, code: str) -> None:
    before = (world.count("documents"), world.count("document_versions"))
    kind = fields.pop("kind", "report")
    title = fields.pop("title", TITLE)
    r = upload(world, data, kind=kind, title=title, extra=fields, file_name="tai-lieu.pdf")
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert error["message"] and error["message"] != code  # a sentence, in Vietnamese by default
    assert (world.count("documents"), world.count("document_versions")) == before
    if data:
        assert blob_info(world.system.nats_url, hashlib.sha256(data).hexdigest()) is None
    assert tmp_files(world) == []


def test_upload_over_the_limit_is_refused_while_streaming(world: World) -> None:
    total = 40 * 1024 * 1024
    sent = 0
    head = vietnamese_pdf(["Tệp rất lớn"])

    def body() -> Iterator[bytes]:
        nonlocal sent
        boundary_head = (b"--B\r\nContent-Disposition: form-data; name=\"congress_id\"\r\n\r\n"
                         + world.congress_id.encode() + b"\r\n--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n"
                         + b"Big\r\n--B\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nreport\r\n"
                         + b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
                         + b"Content-Type: application/pdf\r\n\r\n" + head)
        yield boundary_head
        chunk = b"0" * (256 * 1024)
        while sent < total:
            sent += len(chunk)
            yield chunk
        yield b"\r\n--B--\r\n"

    r = httpx.post(f"{world.direct.url}/api/documents", content=body(), timeout=60,
                   headers={**world.secretary.headers, "Content-Type": "multipart/form-data; boundary=B"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "upload_too_large"
    assert sent < total / 2, f"the service read {sent} bytes before refusing"
    assert tmp_files(world) == []


def test_file_name_with_path_and_control_characters_is_only_a_display_name(world: World) -> None:
    # Raw bytes: browsers and httpx percent-encode control characters, a hostile client need not.
    pdf = vietnamese_pdf(["Tham luận"])
    raw_name = "../../etc/\x07Tham luận\x1b.pdf".encode()
    body = b"".join([
        b'--B\r\nContent-Disposition: form-data; name="congress_id"\r\n\r\n', world.congress_id.encode(),
        b'\r\n--B\r\nContent-Disposition: form-data; name="title"\r\n\r\n', "Tham luận".encode(),
        b'\r\n--B\r\nContent-Disposition: form-data; name="kind"\r\n\r\nreport',
        b'\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="', raw_name, b'"\r\n\r\n', pdf,
        b"\r\n--B--\r\n",
    ])
    r = httpx.post(f"{world.url}/api/documents", content=body,
                   headers={**world.secretary.headers, "Content-Type": "multipart/form-data; boundary=B"})
    assert r.status_code == 201, r.text
    assert r.json()["file_name"] == "Tham luận.pdf"
    assert not (world.system.data_dir.parent / "etc").exists()


def test_access_rules(world: World) -> None:
    doc = upload(world, vietnamese_pdf(["Quy chế làm việc"])).json()
    data = vietnamese_pdf(["Quy chế (sửa)"])
    assert httpx.get(f"{world.url}/api/documents/{doc['id']}").status_code == 401
    # staff without the secretary role: may read, may not write
    member = world.member.headers
    assert httpx.get(f"{world.url}/api/documents/{doc['id']}", headers=member).status_code == 200
    assert httpx.get(f"{world.url}/api/documents/{doc['id']}/file?version=1", headers=member).status_code == 200
    assert upload(world, data, who=world.member).status_code == 403
    assert httpx.post(f"{world.url}/api/documents/{doc['id']}/approve", headers=member).status_code == 403
    # a secretary of another congress: this congress's documents do not exist for them
    outsider = world.outsider.headers
    for path in (f"/api/documents/{doc['id']}", f"/api/documents/{doc['id']}/file?version=1",
                 f"/api/documents/renders/{world.congress_id}/agenda.pdf"):
        assert httpx.get(f"{world.url}{path}", headers=outsider).status_code == 404, path
    assert httpx.get(f"{world.url}/api/documents", params={"congress_id": world.congress_id},
                     headers=outsider).status_code == 404
    assert upload(world, data, who=world.outsider).status_code == 404
    r = httpx.post(f"{world.url}/api/documents/{doc['id']}/versions", files={"file": ("q.pdf", data)}, headers=outsider)
    assert r.status_code == 404
    assert blob_info(world.system.nats_url, hashlib.sha256(data).hexdigest()) is None


def test_list_is_paginated(world: World) -> None:
    for n in range(3):
        assert upload(world, vietnamese_pdf([f"Tài liệu số {n}"]), congress_id=world.other_congress_id,
                      who=world.outsider).status_code == 201
    seen, cursor = [], None
    while True:
        page = httpx.get(f"{world.url}/api/documents", headers=world.outsider.headers,
                         params={"congress_id": world.other_congress_id, "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


# -- approval -----------------------------------------------------------------------------


def _versions(world: World, document_id: str) -> list[dict]:
    r = httpx.get(f"{world.url}/api/documents/{document_id}", headers=world.secretary.headers)
    return r.json()["versions"]


def test_secretary_approves_a_video_directly(world: World) -> None:
    video = mp4_bytes(300_000)
    doc = upload(world, video, kind="video", title="Phóng sự nhiệm kỳ 2021–2026", file_name="phong-su.mp4").json()
    assert doc["content_type"] == "video/mp4" and doc["pages"] == 0
    first = httpx.post(f"{world.url}/api/documents/{doc['id']}/approve", headers=world.secretary.headers)
    assert first.status_code == 200
    v1 = first.json()["versions"][0]
    assert (v1["status"], v1["approved_via"]) == ("approved", "secretary")
    again = httpx.post(f"{world.url}/api/documents/{doc['id']}/approve", headers=world.secretary.headers)
    assert again.status_code == 200 and again.json()["versions"][0] == v1
    # a report cannot be approved without signatures
    report = upload(world, vietnamese_pdf(["Báo cáo tài chính"])).json()
    refused = httpx.post(f"{world.url}/api/documents/{report['id']}/approve", headers=world.secretary.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "signatures_required"
    got = httpx.get(f"{world.url}/api/documents/{doc['id']}/file", headers={**world.secretary.headers, "Range": "bytes=0-99"})
    assert got.status_code == 206 and got.content == video[:100] and got.headers["content-type"] == "video/mp4"
    approved = _approved_events(world, doc["id"])
    assert [(e["version"], e["sha256"], e["method"]) for e in approved] == [(1, hashlib.sha256(video).hexdigest(), "secretary")]


def _approved_events(world: World, document_id: str) -> list[dict]:
    import json

    rows = [r for r in world.db.rows("outbox") if r["subject"] == "documents.document.approved"]
    return [e for e in (json.loads(r["payload"]) for r in rows) if e["document_id"] == document_id]


def test_signing_workflow_drives_the_status_and_the_signed_revision_becomes_the_next_version(world: World) -> None:
    original = vietnamese_pdf(["Biên bản Đại hội", *NAMES])
    doc = upload(world, original, kind="minutes", title="Biên bản Đại hội").json()
    congress = uuid.UUID(world.congress_id)
    document_id = uuid.UUID(doc["id"])
    nats_url = world.system.nats_url

    def status(version: int) -> str:
        return next(v["status"] for v in _versions(world, doc["id"]) if v["version"] == version)

    first_request = uuid.uuid4()
    slots = [cs.SignerSlot(username="chutoa", role="signer")]
    send(nats_url, [cs.RequestCreated(congress_id=congress, request_id=first_request, document_id=document_id,
                                      version=1, sha256=doc["sha256"], signers=slots, requested_by="thuky")])
    wait_for(lambda: status(1) == "in_review", what="in review")
    blocked = httpx.post(f"{world.url}/api/documents/{doc['id']}/versions", headers=world.secretary.headers,
                         files={"file": ("v2.pdf", vietnamese_pdf(["Biên bản (sửa)"]))})
    assert blocked.status_code == 409
    send(nats_url, [cs.RequestRejected(congress_id=congress, request_id=first_request, document_id=document_id,
                                       signer="chutoa", reason="Sai tên đại biểu")])
    wait_for(lambda: status(1) == "draft", what="back to draft")

    second_request = uuid.uuid4()
    signed = vietnamese_pdf(["Biên bản Đại hội", *NAMES, "Đã ký số: Đặng Thị Quyên"])
    signed_sha = put_blob(nats_url, signed)
    send(nats_url, [
        cs.RequestCreated(congress_id=congress, request_id=second_request, document_id=document_id, version=1,
                          sha256=doc["sha256"], signers=slots, requested_by="thuky"),
        cs.RequestSigned(congress_id=congress, request_id=second_request, document_id=document_id, signer="chutoa",
                         signer_full_name=NAMES[2], role="signer", verification_code="ABCD-1234",
                         signed_sha256=signed_sha, certificate_sha256="0" * 64, signed_at=doc_time()),
        cs.RequestCompleted(congress_id=congress, request_id=second_request, document_id=document_id,
                            final_sha256=signed_sha, completion_certificate_sha256="1" * 64),
        # late and repeated events change nothing any more
        cs.RequestRejected(congress_id=congress, request_id=second_request, document_id=document_id,
                           signer="chutoa", reason="muộn"),
        cs.RequestCompleted(congress_id=congress, request_id=second_request, document_id=document_id,
                            final_sha256=signed_sha, completion_certificate_sha256="1" * 64),
    ])
    versions = wait_for(lambda: (vs := _versions(world, doc["id"])) and len(vs) == 2 and vs, what="signed revision")
    assert [(v["version"], v["status"], v["signed"], v["approved_via"], v["sha256"]) for v in versions] == [
        (1, "superseded", False, None, doc["sha256"]),
        (2, "approved", True, "signatures", signed_sha),
    ]
    assert versions[1]["pages"] == 1 and versions[1]["size"] == len(signed)
    approved = _approved_events(world, doc["id"])
    assert [(e["version"], e["sha256"], e["method"], e["request_id"]) for e in approved] == [
        (2, signed_sha, "signatures", str(second_request))]
    latest = httpx.get(f"{world.url}/api/documents/{doc['id']}/file", headers=world.secretary.headers)
    assert latest.content == signed

    publication = uuid.uuid4()
    send(nats_url, [cc.DocumentPublished(congress_id=congress, publication_id=publication, document_id=document_id,
                                         version=2, sha256=signed_sha, title="Biên bản Đại hội", agenda_item_id=None,
                                         audience="public"),
                    cc.DocumentRevoked(congress_id=congress, publication_id=publication, document_id=document_id)])
    wait_for(lambda: status(2) == "published", what="published")
    wait_for(lambda: any(p["revoked_at"] for p in world.db.rows("publications")), what="revocation recorded")
    assert status(2) == "published"


def doc_time():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_a_revocation_applied_before_its_publication_is_not_lost(world: World) -> None:
    # Two replicas share the consumer: one may apply a revocation while the other still holds its
    # publication (seen in this module's signing workflow). Here the publication is only sent once
    # the revocation has been applied, so the order is certain: the revocation is kept at once (no
    # retry), and the publication fills its row in later without taking the revocation back.
    doc = upload(world, vietnamese_pdf(["Tài liệu phát hành rồi thu hồi"]), kind="reference").json()
    assert httpx.post(f"{world.url}/api/documents/{doc['id']}/approve", headers=world.secretary.headers).status_code == 200
    congress, document_id, publication = uuid.UUID(world.congress_id), uuid.UUID(doc["id"]), uuid.uuid4()

    def redeliveries() -> float:
        return sum(metric(base, "events_redelivered_total", consumer="documents-main-congress")
                   for base in (world.system.service_url("documents"), world.direct.url))

    def row() -> dict | None:
        return next((p for p in world.db.rows("publications") if p["id"] == str(publication)), None)

    before = redeliveries()
    send(world.system.nats_url, [cc.DocumentRevoked(congress_id=congress, publication_id=publication,
                                                    document_id=document_id)])
    early = wait_for(lambda: (found := row()) is not None and found["revoked_at"] is not None and found,
                     what="the early revocation to be kept")
    send(world.system.nats_url, [
        cc.DocumentPublished(congress_id=congress, publication_id=publication, document_id=document_id, version=1,
                             sha256=doc["sha256"], title="Tài liệu", agenda_item_id=None, audience="public"),
    ])
    late = wait_for(lambda: (found := row()) is not None and found["version"] == 1 and found,
                    what="the publication to fill in the revoked row")
    assert (late["audience"], late["revoked_at"]) == ("public", early["revoked_at"])
    assert _versions(world, doc["id"])[0]["status"] == "published"
    assert redeliveries() == before


def test_no_endpoint_changes_an_approved_version(world: World) -> None:
    data = vietnamese_pdf(["Tài liệu đã duyệt"])
    doc = upload(world, data, kind="reference").json()
    assert httpx.post(f"{world.url}/api/documents/{doc['id']}/approve", headers=world.secretary.headers).status_code == 200
    frozen = _versions(world, doc["id"])[0]
    other = vietnamese_pdf(["Nội dung khác"])
    spec = httpx.get(f"{world.direct.url}/openapi.json").json()
    tried = []
    for path, operations in spec["paths"].items():
        for method in operations:
            if method.upper() not in ("POST", "PUT", "PATCH", "DELETE"):
                continue
            url = world.url + path.replace("{document_id}", doc["id"]).replace("{congress_id}", world.congress_id)
            r = httpx.request(method.upper(), url, headers=world.secretary.headers,
                              files={"file": ("doi.pdf", other)}, data={"congress_id": world.congress_id,
                                                                        "title": "Đổi", "kind": "reference"})
            tried.append((method, path, r.status_code))
    assert any(p.endswith("/versions") for _, p, _ in tried), tried
    after = _versions(world, doc["id"])
    assert after[0] == frozen  # same sha256, status, approval, size, pages
    got = httpx.get(f"{world.url}/api/documents/{doc['id']}/file", params={"version": 1}, headers=world.secretary.headers)
    assert got.content == data
    assert all(v["version"] > 1 for v in after[1:])  # anything new is a new version


# -- rendered PDFs --------------------------------------------------------------------------


def _pdf_text(pdf: bytes, tmp: Path) -> tuple[str, str]:
    path = tmp / "render.pdf"
    path.write_bytes(pdf)
    poppler = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout
    return poppler.decode(), "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_rendered_agenda_attendance_and_minutes_read_back_exactly(world: World, tmp_path: Path) -> None:
    congress = uuid.UUID(world.congress_id)
    delegates = [uuid.uuid4() for _ in NAMES]
    send(world.system.nats_url, [
        *[cc.DelegateRegistered(congress_id=congress, delegate_id=d, full_name=name, unit="Chi hội khu phố 3",
                                delegate_type="Chính thức") for d, name in zip(delegates, NAMES, strict=True)],
        cc.DelegateCheckedIn(congress_id=congress, delegate_id=delegates[0], checked_in_at=doc_time()),
        cc.DelegateCheckedIn(congress_id=congress, delegate_id=delegates[2], checked_in_at=doc_time()),
    ])
    wait_for(lambda: (len(world.db.rows("checkins")) >= 2
                      and {str(d) for d in delegates} <= {r["id"] for r in world.db.rows("delegates")}),
             what="delegates and check-ins")
    base = f"{world.url}/api/documents/renders/{world.congress_id}"
    for name, expected in (("agenda", ["Báo cáo chính trị", "Bầu Ban Chấp hành", "CHƯƠNG TRÌNH"]),
                           ("attendance", [*NAMES, "Có mặt: 2"]),
                           ("minutes", ["BIÊN BẢN (DỰ THẢO)", "Báo cáo chính trị", "2/3 có mặt"])):
        r = httpx.get(f"{base}/{name}.pdf", headers=world.secretary.headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        poppler, pypdf_text = _pdf_text(r.content, tmp_path)
        for text in expected:
            assert text in poppler, (name, text, poppler)
            assert text in pypdf_text, (name, text, pypdf_text)


def test_a_character_the_font_lacks_is_refused_with_its_name(world: World) -> None:
    congress = uuid.uuid4()
    send(world.system.nats_url, [
        *congress_events(congress, "Hội nghị 🌸 mùa xuân", [world.secretary]),
    ])
    wait_for(lambda: (any(r["congress_id"] == str(congress) for r in world.db.rows("congress_staff"))
                      and any(r["id"] == str(congress) for r in world.db.rows("congresses"))), what="congress")
    r = httpx.get(f"{world.url}/api/documents/renders/{congress}/agenda.pdf", headers=world.secretary.headers)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "missing_glyphs"
    assert "🌸" in error["message"] and "U+1F338" in error["message"]
    assert error["message"].startswith("Phông chữ")
