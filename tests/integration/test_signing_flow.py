"""The signing service end to end over a real NATS: certificates from user events, an ordered
two-signer request, PAdES signatures that pyHanko and poppler validate, verification by code and
by upload, refusals that change nothing, cancellation, closed congresses, revocation, seals."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import contracts.congress as cc
import contracts.documents as dc
from runtime.processes import NatsServer
from signing import pki
from signing.signer import asn1_cert
from signing.validation import TrustAnchors, verify_pdf
from tests.integration.signing_helpers import Harness, Person, start_signing, wait_for
from tests.support.preconditions import needs

CONGRESS = str(uuid.uuid4())
SECRETARY = Person("thuky.hoa", "Lê Thị Hoà", ["secretary"])
APPROVER = Person("nhung.nguyen", "Nguyễn Thị Hồng Nhung", ["signer"])
CHAIR = Person("duc.tran", "Trần Văn Đức", ["signer"])
OUTSIDER = Person("lan.pham", "Phạm Ngọc Lan", ["signer"])


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    root = tmp_path_factory.mktemp("signing")
    server = NatsServer(root / "nats", log_path=root / "nats.log").start()
    service = None
    try:
        service = start_signing(root / "var", server)
        h = Harness(server, service, root)
        h.publish_token_key()
        h.add_people(CONGRESS, SECRETARY, APPROVER, CHAIR, OUTSIDER)
        yield h
    finally:
        if service:
            service.stop()
        server.stop()


def create_request(h: Harness, document_id: str, signers: list[tuple[Person, str]]) -> httpx.Response:
    body = {"document_id": document_id, "version": 1, "message": "Kính đề nghị ký",
            "signers": [{"username": p.username, "role": role} for p, role in signers]}
    with h.client(SECRETARY) as c:
        # users (CONGRESS stream) and documents (DOCUMENTS stream) arrive through separate consumers:
        # until both are applied the answer is 404 (document or staff unknown) or 422 (signer unknown)
        return wait_for(lambda: (r := c.post("/api/signing/requests", json=body)).status_code not in (404, 422) and r)


def anchors_from_service(h: Harness) -> TrustAnchors:
    chain = pki.chain_from_pem(httpx.get(f"{h.url}/api/signing/ca.pem").text)
    crl = httpx.get(f"{h.url}/api/signing/crl").content
    return TrustAnchors(roots=[asn1_cert(chain[-1])], intermediates=[asn1_cert(c) for c in chain[:-1]], crls=[crl])


def test_two_signers_in_order_produce_a_document_both_validators_accept(harness: Harness, tmp_path: Path) -> None:
    h = harness
    document_id, original_sha, original = h.upload(CONGRESS, "Nghị quyết Đại hội đại biểu Phụ nữ phường Bến Nghé")
    created = create_request(h, document_id, [(APPROVER, "approver"), (CHAIR, "signer")])
    assert created.status_code == 201, created.text
    req = created.json()
    request_id, prepared = req["id"], req["prepared_sha256"]
    assert req["next_signer"] == APPROVER.username and req["original_sha256"] == original_sha
    prepared_bytes = h.get_blob(prepared)
    assert prepared_bytes.startswith(original), "the signature page is an incremental update over the original"

    # Refusals: each a clear 4xx, and nothing changes.
    with h.client(CHAIR) as chair:
        r = chair.post(f"/api/signing/requests/{request_id}/sign")
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_your_turn"
    with h.client(OUTSIDER) as outsider:
        assert outsider.post(f"/api/signing/requests/{request_id}/sign").status_code == 404
    with h.client(APPROVER, auth_age=600) as stale:
        r = stale.post(f"/api/signing/requests/{request_id}/sign")
        assert r.status_code == 401 and r.json()["error"]["code"] == "reauth_required"
    with h.client(SECRETARY) as sec:
        after = sec.get(f"/api/signing/requests/{request_id}").json()
    assert after["current_sha256"] == prepared and all(s["state"] == "waiting" for s in after["signers"])

    with h.client(APPROVER) as approver:
        queue = approver.get("/api/signing/requests", params={"mine": 1}).json()["items"]
        assert [i["id"] for i in queue] == [request_id]
        first = approver.post(f"/api/signing/requests/{request_id}/sign")
        assert first.status_code == 200, first.text
        again = approver.post(f"/api/signing/requests/{request_id}/sign")
        assert again.status_code == 200 and again.json()["signers"][0] == first.json()["signers"][0]
        assert approver.get("/api/signing/requests", params={"mine": 1}).json()["items"] == []
    with h.client(CHAIR) as chair:
        assert [i["id"] for i in chair.get("/api/signing/requests", params={"mine": 1}).json()["items"]] == [request_id]
        done = chair.post(f"/api/signing/requests/{request_id}/sign")
        assert done.status_code == 200, done.text
        final = done.json()
        assert final["state"] == "completed"
        # a completed request refuses everything, and stays as it is
        assert chair.post(f"/api/signing/requests/{request_id}/reject", json={"reason": "muộn"}).status_code == 409
    with h.client(SECRETARY) as sec:
        r = sec.post(f"/api/signing/requests/{request_id}/cancel")
        assert r.status_code == 409 and r.json()["error"]["code"] == "request_completed"
        history = [e["action"] for e in sec.get(f"/api/signing/requests/{request_id}").json()["history"]]
    assert history.count("signed") == 2 and history[0] == "requested"

    signed = h.get_blob(final["current_sha256"])
    assert signed.startswith(prepared_bytes)
    completed = wait_for(lambda: [e for e in h.events("signing.request.completed") if e["request_id"] == request_id])
    assert completed[0]["final_sha256"] == final["current_sha256"] and completed[0]["version"] == 1
    assert h.get_blob(completed[0]["completion_certificate_sha256"]).startswith(b"%PDF")
    signed_events = [e for e in h.events("signing.request.signed") if e["request_id"] == request_id]
    assert [e["signer"] for e in signed_events] == [APPROVER.username, CHAIR.username]

    # pyHanko: both intact and trusted (against the CA and CRL the service publishes)
    report = verify_pdf(signed, anchors_from_service(h))
    assert [s.signer for s in report.signatures] == [APPROVER.full_name, CHAIR.full_name]
    assert all(s.intact and s.trusted for s in report.signatures) and report.verdict == "valid"

    # poppler: both valid; with the CA in an NSS database, trusted
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert out.count("Signature is Valid") == 2, out
    nss = tmp_path / "nss"
    nss.mkdir()
    (tmp_path / "ca.pem").write_text(httpx.get(f"{h.url}/api/signing/ca.pem").text)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "org-ca", "-t", "C,C,C", "-i",
                    str(tmp_path / "ca.pem")], check=True)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True).stdout
    assert out.count("Certificate is Trusted") == 2, out

    # the stamps carry the exact Vietnamese names
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert APPROVER.full_name in text and CHAIR.full_name in text

    # the public verification: by the code on the stamp, and by upload; one flipped byte → red
    code = final["signers"][1]["verification_code"]
    page = httpx.get(f"{h.url}/verify/{code}")
    assert page.status_code == 200 and CHAIR.full_name in page.text and "verdict valid" in page.text
    assert httpx.get(f"{h.url}/verify/{code.lower().replace('-', '')}").status_code == 200
    assert httpx.get(f"{h.url}/verify/ZZZZZ-ZZZZZ").status_code == 404
    r = httpx.post(f"{h.url}/api/signing/verify", files={"file": ("a.pdf", signed, "application/pdf")})
    assert r.status_code == 200 and r.json()["verdict"] == "valid", r.text
    flipped = bytearray(signed)
    flipped[len(original) // 2] ^= 0x01
    r = httpx.post(f"{h.url}/api/signing/verify", files={"file": ("a.pdf", bytes(flipped), "application/pdf")})
    assert r.json()["verdict"] == "invalid" and not r.json()["signatures"][0]["intact"]
    page = httpx.post(f"{h.url}/verify/file", files={"file": ("a.pdf", bytes(flipped), "application/pdf")})
    assert "verdict invalid" in page.text


def test_cancel_reject_and_closed_congress(harness: Harness) -> None:
    h = harness
    document_id, _sha, _ = h.upload(CONGRESS, "Báo cáo tài chính")
    req = create_request(h, document_id, [(CHAIR, "signer")]).json()
    with h.client(OUTSIDER) as outsider:
        r = outsider.post(f"/api/signing/requests/{req['id']}/cancel")  # staff, but not the requester
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_requester"
    with h.client(SECRETARY) as sec:
        assert sec.post(f"/api/signing/requests/{req['id']}/cancel").json()["state"] == "cancelled"
        assert sec.post(f"/api/signing/requests/{req['id']}/cancel").status_code == 200  # repeat: same answer
    with h.client(CHAIR) as chair:
        r = chair.post(f"/api/signing/requests/{req['id']}/sign")
        assert r.status_code == 409 and r.json()["error"]["code"] == "request_cancelled"

    document_id, _sha, _ = h.upload(CONGRESS, "Biên bản kiểm phiếu")
    req = create_request(h, document_id, [(CHAIR, "signer"), (APPROVER, "signer")]).json()
    with h.client(CHAIR) as chair:
        assert chair.post(f"/api/signing/requests/{req['id']}/reject", json={"reason": " "}).status_code == 422
        r = chair.post(f"/api/signing/requests/{req['id']}/reject", json={"reason": "Sai số liệu trang 2"})
        assert r.json()["state"] == "rejected"
    with h.client(APPROVER) as approver:
        assert approver.post(f"/api/signing/requests/{req['id']}/sign").status_code == 409

    closed = str(uuid.uuid4())
    h.publish(cc.StaffAdded(user_id=SECRETARY.user_id, username=SECRETARY.username,  # type: ignore[arg-type]
                            congress_id=uuid.UUID(closed)))
    document_id, _sha, _ = h.upload(closed, "Tài liệu sau bế mạc")
    h.publish(cc.CongressClosed(registered=10, present=8, quorum=0.5, quorum_reached=True,
                                congress_id=uuid.UUID(closed)))
    r = wait_for(lambda: (r := create_request(h, document_id, [(CHAIR, "signer")])).status_code == 409 and r)
    assert r.json()["error"]["code"] == "congress_closed"


def test_deactivation_revokes_the_certificate(harness: Harness) -> None:
    h = harness
    leaving = Person("minh.vo", "Võ Văn Minh", ["signer"])
    h.add_people(CONGRESS, leaving)
    issued = wait_for(lambda: [e for e in h.events("signing.certificate.issued") if e["username"] == leaving.username])
    h.publish(cc.UserDeactivated(user_id=leaving.user_id, username=leaving.username))  # type: ignore[arg-type]
    revoked = wait_for(lambda: [e for e in h.events("signing.certificate.revoked") if e["username"] == leaving.username])
    assert revoked[0]["fingerprint_sha256"] == issued[0]["fingerprint_sha256"]
    from cryptography import x509

    crl = x509.load_der_x509_crl(httpx.get(f"{h.url}/api/signing/crl").content)
    assert len(list(crl)) == 1


@needs(shutil.which("openssl") is not None, "openssl missing")
def test_archive_seal_verifies_with_openssl(harness: Harness, tmp_path: Path) -> None:
    h = harness
    manifest = "sha256  tagmanifest-sha256.txt  ab12\nsha512  tagmanifest-sha512.txt  cd34\n".encode()
    manifest_sha = h.put_blob(manifest)
    record_id = uuid.uuid4()
    h.publish(dc.ArchiveSealRequested(record_id=record_id, manifest_sha256=manifest_sha,
                                      congress_id=uuid.UUID(CONGRESS)))
    applied = wait_for(lambda: [e for e in h.events("signing.seal.applied") if e["record_id"] == str(record_id)])
    (tmp_path / "manifest").write_bytes(manifest)
    (tmp_path / "sig").write_bytes(h.get_blob(applied[0]["signature_sha256"]))
    (tmp_path / "ca.pem").write_text(httpx.get(f"{h.url}/api/signing/ca.pem").text)
    done = subprocess.run(["openssl", "cms", "-verify", "-binary", "-content", str(tmp_path / "manifest"),
                           "-inform", "DER", "-in", str(tmp_path / "sig"), "-CAfile", str(tmp_path / "ca.pem"),
                           "-out", "/dev/null"], capture_output=True, text=True)
    assert done.returncode == 0 and "Verification successful" in done.stderr, done.stderr
    (tmp_path / "manifest").write_bytes(manifest.replace(b"ab12", b"ab13"))
    tampered = subprocess.run(["openssl", "cms", "-verify", "-binary", "-content", str(tmp_path / "manifest"),
                               "-inform", "DER", "-in", str(tmp_path / "sig"), "-CAfile", str(tmp_path / "ca.pem"),
                               "-out", "/dev/null"], capture_output=True, text=True)
    assert tampered.returncode != 0
