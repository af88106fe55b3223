"""Signatures and seals with a timestamp authority: the signing service, over real NATS, calls a
local RFC 3161 TSA (certomancer, its own process, on a loopback port) through `TSA_URL`.

- every PAdES signature carries a signature timestamp that pyHanko validates against the TSA's
  root (B-T), and the file holds the validation data for the signer's and the TSA's chains in
  its DSS, enough for pyHanko's PAdES-LT validation with no network (B-LT);
- the verification API reports the timestamped time as the TSA's, not the signer's claim;
- an archive seal carries an RFC 3161 token over its signature that pyHanko and `openssl ts`
  accept.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext

import contracts.documents as dc
from runtime.processes import NatsServer
from signing import pki
from signing.signer import asn1_cert
from signing.validation import TrustAnchors, verify_pdf
from tests.integration.signing_helpers import Harness, Person, run, start_signing, wait_for
from tests.support.tsa import LocalTimestampAuthority

CONGRESS = str(uuid.uuid4())
SECRETARY = Person("thuky.mai", "Đặng Thị Mai", ["secretary"])
APPROVER = Person("pho.chu.tich", "Bùi Thị Thu Hương", ["signer"])
CHAIR = Person("chu.tich.hoi", "Nguyễn Thị Ánh Tuyết", ["signer"])


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTimestampAuthority]:
    with LocalTimestampAuthority(tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, tsa: LocalTimestampAuthority) -> Iterator[Harness]:
    root = tmp_path_factory.mktemp("signing-tsa")
    server = NatsServer(root / "nats", log_path=root / "nats.log").start()
    service = None
    try:
        service = start_signing(root / "var", server, {"TSA_URL": tsa.url, "TSA_CA_FILE": str(tsa.ca_file)})
        h = Harness(server, service, root)
        h.publish_token_key()
        h.add_people(CONGRESS, SECRETARY, APPROVER, CHAIR)
        yield h
    finally:
        if service:
            service.stop()
        server.stop()


def tsa_root(tsa: LocalTimestampAuthority) -> asn1_x509.Certificate:
    return asn1_cert(pki.from_pem(tsa.ca_file.read_text()))


def organisation_root(h: Harness) -> asn1_x509.Certificate:
    return asn1_cert(pki.chain_from_pem(httpx.get(f"{h.url}/api/signing/ca.pem").text)[-1])


def signed_by_two(h: Harness) -> tuple[bytes, dict]:
    document_id, _sha, _ = h.upload(CONGRESS, "Nghị quyết Đại hội Hội Liên hiệp Phụ nữ xã Tân Hòa")
    body = {"document_id": document_id, "version": 1,
            "signers": [{"username": APPROVER.username, "role": "approver"},
                        {"username": CHAIR.username, "role": "signer"}]}
    with h.client(SECRETARY) as sec:
        created = wait_for(lambda: (r := sec.post("/api/signing/requests", json=body)).status_code == 201 and r)
    request_id = created.json()["id"]
    for person in (APPROVER, CHAIR):
        with h.client(person) as c:
            r = c.post(f"/api/signing/requests/{request_id}/sign")
            assert r.status_code == 200, r.text
    final = r.json()
    assert final["state"] == "completed"
    return h.get_blob(final["current_sha256"]), final


def test_signatures_are_timestamped_and_carry_their_validation_data(
        harness: Harness, tsa: LocalTimestampAuthority) -> None:
    h = harness
    before = datetime.now(UTC) - timedelta(seconds=5)
    signed, final = signed_by_two(h)
    roots = [organisation_root(h), tsa_root(tsa)]
    reader = PdfFileReader(io.BytesIO(signed))
    assert [s.field_name for s in reader.embedded_signatures] == ["ChuKy1", "ChuKy2"]

    # B-T: each signature has a timestamp token from the TSA; pyHanko finds it valid and trusted.
    for sig in reader.embedded_signatures:
        status = validate_pdf_signature(
            sig,
            signer_validation_context=ValidationContext(trust_roots=roots, allow_fetching=False,
                                                        revocation_mode="soft-fail"),
            ts_validation_context=ValidationContext(trust_roots=[tsa_root(tsa)], allow_fetching=False),
        )
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        ts = status.timestamp_validity
        assert ts is not None and ts.intact and ts.valid and ts.trusted, status.pretty_print_details()
        assert before <= ts.timestamp <= datetime.now(UTC) + timedelta(seconds=5)
        assert ts.signing_cert.subject.native["common_name"] == "Dấu thời gian thử nghiệm"

    # B-LT: the DSS holds the certificates and CRLs of both chains (the organisation's and the
    # TSA's): with nothing but the file's DSS and the two roots, and revocation data *required*
    # for every certificate below a root, pyHanko still validates signature and timestamp.
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 4 and len(dss["/CRLs"]) >= 2 and "/VRI" in dss
    store = DocumentSecurityStore.read_dss(reader)
    for sig in reader.embedded_signatures:
        status = validate_pdf_signature(
            sig,
            signer_validation_context=store.as_validation_context(
                {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "require"}),
            ts_validation_context=store.as_validation_context(
                {"trust_roots": [tsa_root(tsa)], "allow_fetching": False, "revocation_mode": "require"}),
        )
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted

    # The service's own verification: the time is the TSA's, not the signer's claim.
    r = httpx.post(f"{h.url}/api/signing/verify", files={"file": ("a.pdf", signed, "application/pdf")})
    report = r.json()
    assert report["verdict"] == "valid", report
    assert [s["time_is_claimed"] for s in report["signatures"]] == [False, False]
    page = httpx.get(f"{h.url}/verify/{final['signers'][1]['verification_code']}")
    assert "verdict valid" in page.text and "Theo dấu thời gian" in page.text and CHAIR.full_name in page.text
    # A verifier that does not trust the TSA gets the signer's claim, said as such.
    no_tsa = TrustAnchors(roots=[organisation_root(h)], intermediates=[],
                          crls=[httpx.get(f"{h.url}/api/signing/crl").content])
    assert [s.time_is_claimed for s in verify_pdf(signed, no_tsa).signatures] == [True, True]
    flipped = bytearray(signed)
    flipped[200] ^= 0x01
    r = httpx.post(f"{h.url}/api/signing/verify", files={"file": ("a.pdf", bytes(flipped), "application/pdf")})
    assert r.json()["verdict"] == "invalid"


def test_archive_seal_carries_a_timestamp_token(harness: Harness, tsa: LocalTimestampAuthority,
                                                tmp_path: Path) -> None:
    h = harness
    manifest = "sha256  tagmanifest-sha256.txt  9f1c\nsha512  tagmanifest-sha512.txt  77ab\n".encode()
    manifest_sha = h.put_blob(manifest)
    record_id = uuid.uuid4()
    h.publish(dc.ArchiveSealRequested(record_id=record_id, manifest_sha256=manifest_sha,
                                      congress_id=uuid.UUID(CONGRESS)))
    applied = wait_for(lambda: [e for e in h.events("signing.seal.applied") if e["record_id"] == str(record_id)])[0]
    assert applied["timestamp_token_sha256"], applied
    signature = h.get_blob(applied["signature_sha256"])
    token = h.get_blob(applied["timestamp_token_sha256"])

    # The token is the one inside the seal (signature_time_stamp_token) and stamps its signature value.
    signed_data = cms.ContentInfo.load(signature)["content"]
    signer_info = signed_data["signer_infos"][0]
    embedded = [a["values"][0].dump() for a in signer_info["unsigned_attrs"]
                if a["type"].native == "signature_time_stamp_token"]
    assert embedded == [token]
    tst_info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    assert isinstance(tst_info, tsp.TSTInfo)
    assert tst_info["message_imprint"]["hashed_message"].native == hashlib.sha256(
        signer_info["signature"].native).digest()

    # pyHanko: the seal is intact and trusted (organisation CA), its timestamp valid and trusted (TSA root).
    status = run(async_validate_detached_cms(
        manifest, signed_data,
        signer_validation_context=ValidationContext(trust_roots=[organisation_root(h)], allow_fetching=False,
                                                    revocation_mode="soft-fail"),
        ts_validation_context=ValidationContext(trust_roots=[tsa_root(tsa)], allow_fetching=False),
    ))
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted

    # An independent tool: openssl checks the token against the signature value and the TSA root.
    if shutil.which("openssl"):
        (tmp_path / "value").write_bytes(signer_info["signature"].native)
        (tmp_path / "token").write_bytes(token)
        done = subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / "value"), "-in",
                               str(tmp_path / "token"), "-token_in", "-CAfile", str(tsa.ca_file)],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr
        (tmp_path / "value").write_bytes(b"x" + signer_info["signature"].native)
        assert subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / "value"), "-in",
                               str(tmp_path / "token"), "-token_in", "-CAfile", str(tsa.ca_file)],
                              capture_output=True).returncode != 0


def test_an_unreachable_timestamp_authority_is_a_503_and_changes_nothing(
        harness: Harness, tsa: LocalTimestampAuthority) -> None:
    h = harness
    document_id, _sha, _ = h.upload(CONGRESS, "Báo cáo chính trị")
    body = {"document_id": document_id, "version": 1, "signers": [{"username": CHAIR.username, "role": "signer"}]}
    with h.client(SECRETARY) as sec:
        req = wait_for(lambda: (r := sec.post("/api/signing/requests", json=body)).status_code == 201 and r).json()
    tsa.stop()  # last test of the module: the authority is gone
    with h.client(CHAIR) as chair:
        r = chair.post(f"/api/signing/requests/{req['id']}/sign")
        assert r.status_code == 503 and r.json()["error"]["code"] == "timestamp_unavailable", r.text
        after = chair.get(f"/api/signing/requests/{req['id']}").json()
    assert after["current_sha256"] == req["prepared_sha256"] and after["signers"][0]["state"] == "waiting"
