"""The archive over real NATS and real service processes: a congress is closed, its record is
sealed within seconds, the package validates with `bagit` and the offline verifier, damage is
named by both verifiers, the close delivered twice makes one record, and another installation's
package imports only once its CA is registered.

Through the real APIs: staff accounts, the congress, its delegates (with phone numbers, which
must not reach the archive), document uploads, the secretary's approval, the seal (the real
signing service). Published from the test, because those endpoints do not exist yet: check-ins
(`congress.delegate.checked_in`), the signature workflow's events for two signed documents and
signed minutes (`signing.request.created/.signed/.completed`, with the signed PDFs and completion
certificates put in the Object Store), and the close (`congress.congress.closed`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import secrets
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import bagit
import httpx
import nats
import pytest

import contracts.congress as cc
import contracts.signing as sc
from contracts.streams import BLOB_BUCKET
from documents.archive.package import BagContent
from tests.support.archive import make_ca, sealed_package
from tests.support.congress_fixtures import admin_client, login, make_pdf, new_secretary
from tests.support.events import publish, wait_for
from tests.support.system import System

PHONES = ["0912345678", "0987654321", "0901122334"]
DELEGATES = [("Nguyễn Thị Nguyên", "Chi hội 1", "chính thức"), ("Trần Văn Bình", "Chi hội 2", "chính thức"),
             ("Lê Thị Hoa", "Chi hội 3", "dự khuyết")]
REPO = Path(__file__).resolve().parents[2]


def put_blobs(nats_url: str, *blobs: bytes) -> list[str]:
    async def go() -> list[str]:
        nc = await nats.connect(nats_url)
        try:
            store = await nc.jetstream().object_store(BLOB_BUCKET)
            names = []
            for blob in blobs:
                name = hashlib.sha256(blob).hexdigest()
                await store.put(name, blob)
                names.append(name)
            return names
        finally:
            await nc.close()

    return asyncio.run(go())


def overwrite_blob(nats_url: str, name: str, data: bytes) -> None:
    async def go() -> None:
        nc = await nats.connect(nats_url)
        try:
            await (await nc.jetstream().object_store(BLOB_BUCKET)).put(name, data)
        finally:
            await nc.close()

    asyncio.run(go())


def rewrite_member(package: bytes, member: str, change) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, change(data) if info.filename == member else data)
    return out.getvalue()


def offline_verify(package: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archive_verify", str(package), "--ca", str(ca)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.fixture(scope="module")
def journey(system: System, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    base = system.url
    admin = admin_client(base)
    secretary = new_secretary(base, admin)
    username = f"lt{secrets.token_hex(4)}"
    admin.post("/api/users", json={"username": username, "password": "archive-password-1",
                                   "full_name": "Phạm Thị Lưu Trữ", "roles": ["archivist"]}).raise_for_status()
    archivist = login(base, username, "archive-password-1")
    congress = secretary.post("/api/congresses", json={
        "title": "Đại hội Phụ nữ phường Bến Nghé lần thứ XIII", "organisation": "Hội Liên hiệp Phụ nữ Quận 1",
        "unit": "Phường Bến Nghé", "venue": "Hội trường UBND phường", "quorum": 0.5,
        "starts_at": "2026-03-08T08:00:00+07:00", "ends_at": "2026-03-08T11:30:00+07:00"})
    assert congress.status_code == 201, congress.text
    congress_id = congress.json()["id"]
    delegate_ids = []
    for (name, unit, kind), phone in zip(DELEGATES, PHONES, strict=True):
        answer = secretary.post(f"/api/congresses/{congress_id}/delegates", json={
            "full_name": name, "unit": unit, "delegate_type": kind, "phone": phone, "email": f"{phone}@example.vn"})
        assert answer.status_code == 201, answer.text
        delegate_ids.append(answer.json()["id"])
    cid = uuid.UUID(congress_id)
    publish(system.nats_url, [cc.DelegateCheckedIn(congress_id=cid, delegate_id=uuid.UUID(d),
                                                   checked_in_at=datetime.now(UTC)) for d in delegate_ids[:2]])

    documents = {}
    for title, kind in (("Báo cáo chính trị nhiệm kỳ 2021–2026", "report"),
                        ("Nghị quyết Đại hội", "resolution"), ("Biên bản Đại hội", "minutes")):
        upload = secretary.post("/api/documents", data={"congress_id": congress_id, "title": title, "kind": kind},
                                files={"file": ("tai-lieu.pdf", make_pdf(title), "application/pdf")})
        assert upload.status_code == 201, upload.text
        doc = upload.json()
        signed_pdf, certificate = make_pdf(f"{title} — đã ký"), make_pdf(f"Chứng nhận hoàn tất: {title}")
        signed_sha, certificate_sha = put_blobs(system.nats_url, signed_pdf, certificate)
        request_id, document_id = uuid.uuid4(), uuid.UUID(doc["id"])
        code = f"VN-{secrets.token_hex(3).upper()}"
        publish(system.nats_url, [
            sc.RequestCreated(congress_id=cid, request_id=request_id, document_id=document_id, version=1,
                              sha256=doc["versions"][0]["sha256"], signers=[sc.SignerSlot(username="chutich",
                                                                                          role="signer")],
                              requested_by="thuky", title=title),
            sc.RequestSigned(congress_id=cid, request_id=request_id, document_id=document_id, signer="chutich",
                             signer_full_name="Trần Thị Chủ Tịch", role="signer", verification_code=code,
                             signed_sha256=signed_sha, certificate_sha256="0" * 64, signed_at=datetime.now(UTC)),
            sc.RequestCompleted(congress_id=cid, request_id=request_id, document_id=document_id, version=1,
                                final_sha256=signed_sha, completion_certificate_sha256=certificate_sha),
        ])
        documents[title] = {"id": doc["id"], "signed_sha256": signed_sha, "certificate": certificate_sha, "code": code}
    reference = secretary.post("/api/documents", data={"congress_id": congress_id, "title": "Tài liệu tham khảo",
                                                       "kind": "reference"},
                               files={"file": ("tham-khao.pdf", make_pdf("Tham khảo"), "application/pdf")})
    assert reference.status_code == 201, reference.text
    assert secretary.post(f"/api/documents/{reference.json()['id']}/approve").status_code == 200
    for title, doc in documents.items():
        wait_for(lambda d=doc: secretary.get(f"/api/documents/{d['id']}").json().get("approved_version") == 2,
                 timeout=30, what=f"signed revision of {title}")

    close = cc.CongressClosed(congress_id=cid, registered=3, present=2, quorum=0.5, quorum_reached=True)
    started = datetime.now(UTC)
    publish(system.nats_url, [close])
    publish(system.nats_url, [close], headers={"Nats-Msg-Id": str(uuid.uuid4())})  # the same event again
    publish(system.nats_url, [cc.CongressClosed(congress_id=cid, registered=3, present=2, quorum=0.5,
                                                quorum_reached=True)])  # and a second close
    record = wait_for(lambda: (lambda r: r if r.status_code == 200 and r.json()["state"] == "sealed" else None)(
        archivist.get(f"/api/archive/records/{congress_id}")), timeout=60, interval=0.2, what="sealed record").json()
    sealed_in = (datetime.now(UTC) - started).total_seconds()
    tmp = tmp_path_factory.mktemp("archive")
    package = archivist.get(f"/api/archive/records/{congress_id}/package")
    assert package.status_code == 200, package.text
    (tmp / "package.zip").write_bytes(package.content)
    ca = httpx.get(f"{base}/api/signing/ca.pem", timeout=10)
    assert ca.status_code == 200
    (tmp / "ca.pem").write_bytes(ca.content)
    return {"system": system, "admin": admin, "archivist": archivist, "secretary": secretary,
            "congress_id": congress_id, "record": record, "package": package, "tmp": tmp, "sealed_in": sealed_in,
            "documents": documents, "delegates": delegate_ids}


def test_close_makes_a_sealed_record_within_seconds(journey) -> None:  # type: ignore[no-untyped-def]
    assert journey["sealed_in"] < 20, journey["sealed_in"]
    record = journey["record"]
    assert record["counts"]["delegates"] == 3 and record["counts"]["present"] == 2
    assert record["counts"]["documents"] == 4 and record["counts"]["signed_documents"] == 3
    assert record["retain_until"][:4] == str(int(record["sealed_at"][:4]) + 20)
    headers = journey["package"].headers
    assert headers["etag"] == f'"{record["package_sha256"]}"'
    again = journey["archivist"].get(f"/api/archive/records/{journey['congress_id']}/package",
                                     headers={"If-None-Match": headers["etag"]})
    assert again.status_code == 304
    ranged = journey["archivist"].get(f"/api/archive/records/{journey['congress_id']}/package",
                                      headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"PK\x03\x04"


def test_close_delivered_twice_makes_one_record(journey) -> None:  # type: ignore[no-untyped-def]
    from documents.db import metadata
    from tests.support.events import DatabaseReader, service_database_url

    proc = journey["system"].services["documents"]
    reader = DatabaseReader(service_database_url("documents", proc.env, journey["system"].data_dir), metadata)
    try:
        rows = [r for r in reader.rows("archive_records") if r["congress_id"] == journey["congress_id"]]
        outbox = [r for r in reader.rows("outbox") if r["subject"] == "documents.archive.sealed"
                  and journey["congress_id"] in json.dumps(r["headers"])]
    finally:
        reader.close()
    assert len(rows) == 1 and len(outbox) == 1


def test_package_validates_and_holds_the_whole_record(journey) -> None:  # type: ignore[no-untyped-def]
    tmp = journey["tmp"]
    extracted = tmp / "extracted"
    with zipfile.ZipFile(tmp / "package.zip") as archive:
        archive.extractall(extracted)
        everything = b"".join(archive.read(n) for n in archive.namelist())
    bag = bagit.Bag(str(extracted))
    bag.validate()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["Delegates-Present"] == "2"
    checkins = json.loads((extracted / "data/checkins.json").read_text())
    assert {c["delegate_id"] for c in checkins} == set(journey["delegates"][:2])
    assert all(c["checked_in_at"] for c in checkins)
    docs = json.loads((extracted / "data/documents.json").read_text())
    by_title = {d["title"]: d for d in docs}
    for title, expected in journey["documents"].items():
        doc = by_title[title]
        assert doc["sha256"] == expected["signed_sha256"] and doc["signed"]
        assert (extracted / doc["file"]).is_file() and (extracted / doc["completion_certificate"]).is_file()
        assert doc["signatures"][0]["verification_code"] == expected["code"]
    assert any(d["kind"] == "minutes" for d in docs)
    events = (extracted / "data/events.jsonl").read_text().splitlines()
    subjects = [json.loads(line)["subject"] for line in events]
    assert "congress.delegate.checked_in" in subjects and "signing.request.completed" in subjects
    assert (extracted / "chain-head.txt").read_text().split()[0] == json.loads(events[-1])["hash"]
    for phone in PHONES:
        assert phone.encode() not in everything, "a phone number reached the archive"
    assert b"@example.vn" not in everything, "an email reached the archive"
    assert "Nguyễn Thị Nguyên" in (extracted / "data/README.html").read_text()
    done = offline_verify(tmp / "package.zip", tmp / "ca.pem")
    assert done.returncode == 0, done.stdout + done.stderr
    online = journey["archivist"].post(f"/api/archive/records/{journey['congress_id']}/verify")
    assert online.status_code == 200 and online.json()["intact"], online.text


def test_one_changed_byte_and_one_dropped_event_are_named(journey) -> None:  # type: ignore[no-untyped-def]
    tmp, original = journey["tmp"], (journey["tmp"] / "package.zip").read_bytes()
    changed = rewrite_member(original, "data/roster.json", lambda b: b.replace("Nguyễn".encode(), "Nguyen".encode(), 1))
    (tmp / "changed.zip").write_bytes(changed)
    done = offline_verify(tmp / "changed.zip", tmp / "ca.pem")
    assert done.returncode == 1 and "data/roster.json" in done.stdout and "file_changed" in done.stdout

    def drop_one(data: bytes) -> bytes:
        lines = data.decode().splitlines(keepends=True)
        return "".join(lines[:3] + lines[4:]).encode()

    (tmp / "dropped.zip").write_bytes(rewrite_member(original, "data/events.jsonl", drop_one))
    done = offline_verify(tmp / "dropped.zip", tmp / "ca.pem")
    assert done.returncode == 1 and "chain_broken" in done.stdout and "event 4" in done.stdout, done.stdout

    # Online: the Object Store's copy is altered behind the service's back; verify re-reads it.
    system, record = journey["system"], journey["record"]
    overwrite_blob(system.nats_url, record["package_sha256"], changed)
    try:
        online = journey["archivist"].post(f"/api/archive/records/{journey['congress_id']}/verify").json()
        assert not online["intact"]
        named = {(p["code"], p["path"]) for p in online["problems"]}
        assert ("file_changed", "data/roster.json") in named and ("file_changed", "package") in named
    finally:
        overwrite_blob(system.nats_url, record["package_sha256"], original)


def test_search_finds_the_record_without_diacritics(journey) -> None:  # type: ignore[no-untyped-def]
    found = journey["archivist"].get("/api/archive/records", params={"q": "dai hoi phu nu ben nghe"}).json()
    assert journey["congress_id"] in {i["congress_id"] for i in found["items"]}
    people = journey["archivist"].get("/api/archive/records", params={"q": "nguyen thi nguyen"}).json()
    assert any("<mark>Nguyễn</mark>" in i["snippet"] for i in people["items"])
    assert journey["secretary"].get("/api/archive/records", params={"q": "dai hoi"}).status_code == 403


def test_a_package_from_another_installation_imports_once_its_ca_is_registered(journey) -> None:  # type: ignore[no-untyped-def]
    other_ca = make_ca("Hội Liên hiệp Phụ nữ xã Tân Phú")
    tmp = journey["tmp"] / "other"
    tmp.mkdir()
    other_congress = str(uuid.uuid4())
    content = BagContent()
    pdf = other_ca.sign_pdf(make_pdf("Nghị quyết Đại hội xã Tân Phú"))  # signed at the other installation
    content.add_json("data/record.json", {
        "record_id": str(uuid.uuid4()), "retain_until": "2046-03-08T00:00:00+00:00",
        "congress": {"id": other_congress, "title": "Đại hội Phụ nữ xã Tân Phú", "organisation": "Hội LHPN huyện",
                     "unit": "Xã Tân Phú", "venue": "", "starts_at": "2026-04-01T08:00:00+07:00"},
        "agenda": [], "counts": {"delegates": 1, "present": 1, "documents": 1}})
    content.add_json("data/roster.json", [{"full_name": "Đỗ Thị Đào", "unit": "Chi hội 1", "delegate_type": ""}])
    content.add_json("data/documents.json", [{"id": "d1", "title": "Nghị quyết", "kind": "resolution",
                                              "file": "data/documents/d1/v2.pdf", "signatures": [
                                                  {"verification_code": "TP-0001", "signer_full_name": "Đỗ Thị Đào",
                                                   "role": "signer", "signed_at": None}]}])
    content.blobs["data/documents/d1/v2.pdf"] = tmp / "doc.pdf"
    (tmp / "doc.pdf").write_bytes(pdf)
    content.files["data/events.jsonl"] = b""
    content.chain_head = "0" * 64
    content.bag_info = {"Source-Organization": "Hội LHPN huyện", "Congress-Id": other_congress}
    package = sealed_package(tmp, other_ca, content)
    archivist, admin = journey["archivist"], journey["admin"]

    def send():  # type: ignore[no-untyped-def]
        return archivist.post("/api/archive/import", files={"file": ("goi.zip", package.read_bytes(),
                                                                     "application/zip")})

    refused = send()
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "package_untrusted", refused.text
    assert archivist.post("/api/archive/trusted-cas", json={"pem": other_ca.pem.decode()}).status_code == 403
    registered = admin.post("/api/archive/trusted-cas", json={"pem": other_ca.pem.decode()})
    assert registered.status_code == 201, registered.text
    imported = send()
    assert imported.status_code == 201, imported.text
    assert imported.json()["origin"] == "imported" and imported.json()["state"] == "sealed"
    assert send().status_code == 200  # the same package again: the first result
    found = archivist.get("/api/archive/records", params={"q": "do thi dao"}).json()
    assert other_congress in {i["congress_id"] for i in found["items"]}
    verified = archivist.post(f"/api/archive/records/{other_congress}/verify").json()
    assert verified["intact"], verified

    # The document's verification code works here too, checked against the imported CA.
    def page():  # type: ignore[no-untyped-def]
        answer = httpx.get(f"{journey['system'].url}/verify/TP-0001", headers={"Accept-Language": "vi"}, timeout=30)
        return answer if answer.status_code == 200 else None

    shown = wait_for(page, timeout=30, interval=0.3, what="imported code at /verify").text
    assert "Đỗ Thị Đào" in shown and "Nhận từ Hội LHPN huyện" in shown, shown
    assert 'class="verdict valid"' in shown, shown
    assert "Nghị quyết" in shown
    # The imported CA vouches for that package's documents only: not for a file uploaded here.
    other_signed = other_ca.sign_pdf(make_pdf("Một văn bản khác"))
    upload = httpx.post(f"{journey['system'].url}/api/signing/verify",
                        files={"file": ("khac.pdf", other_signed, "application/pdf")}, timeout=30)
    assert upload.status_code == 200 and upload.json()["verdict"] == "untrusted", upload.text
