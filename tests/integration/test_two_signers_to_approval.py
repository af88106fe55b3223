"""Approve and publish, the whole chain over real NATS with every service as a process:
upload (documents) -> request with two ordered signers (signing) -> the approver signs, then
the chair -> `signing.request.completed` -> the documents service makes the signed revision the
approved version -> `documents.document.approved` -> the congress service lets it be published.

The approved bytes are checked by pyHanko itself (not by the service's own verifier) against
the CA certificate the signing service publishes, and by poppler's pdfsig."""

from __future__ import annotations

import io
import secrets
import subprocess
import time
from pathlib import Path

import httpx
from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tests.support.congress_fixtures import admin_client, events_on_stream, login, make_pdf
from tests.support.system import System

APPROVER_NAME = "Phạm Thị Thuý Hải"
CHAIR_NAME = "Đặng Thị Quyên"


def _eventually(call, ok: tuple[int, ...], timeout: float = 30.0) -> httpx.Response:  # type: ignore[no-untyped-def]
    """Repeat `call` while another service has not yet heard of what this one just did."""
    deadline = time.monotonic() + timeout
    while True:
        answer = call()
        if answer.status_code in ok or time.monotonic() > deadline:
            assert answer.status_code in ok, answer.text
            return answer
        time.sleep(0.2)


def _new_user(admin: httpx.Client, full_name: str, roles: list[str]) -> tuple[str, str]:
    username, password = f"u{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    answer = admin.post("/api/users", json={"username": username, "password": password,
                                             "full_name": full_name, "roles": roles})
    assert answer.status_code == 201, answer.text
    return username, password


def test_two_signers_in_order_make_the_approved_version_that_can_be_published(system: System, tmp_path: Path):
    admin = admin_client(system.url)
    secretary = login(system.url, *_new_user(admin, "Nguyễn Thị Nguyên", ["secretary"]))
    approver_login = _new_user(admin, APPROVER_NAME, ["signer"])
    chair_login = _new_user(admin, CHAIR_NAME, ["signer"])

    congress = secretary.post("/api/congresses", json={"title": "Đại hội đại biểu Phụ nữ phường Lê Chân",
                                                       "organisation": "Hội Liên hiệp Phụ nữ"})
    assert congress.status_code == 201, congress.text
    congress_id = congress.json()["id"]
    for username, _ in (approver_login, chair_login):
        added = secretary.post(f"/api/congresses/{congress_id}/staff", json={"username": username})
        assert added.status_code in (200, 201), added.text

    upload = _eventually(lambda: secretary.post(
        "/api/documents",
        data={"congress_id": congress_id, "title": "Nghị quyết Đại hội", "kind": "resolution"},
        files={"file": ("nghi-quyet.pdf", make_pdf("Nghị quyết Đại hội đại biểu Phụ nữ"), "application/pdf")},
    ), ok=(201,))
    document = upload.json()
    request = _eventually(lambda: secretary.post("/api/signing/requests", json={
        "document_id": document["id"], "version": document["version"],
        "signers": [{"username": approver_login[0], "role": "approver"},
                    {"username": chair_login[0], "role": "signer"}],
    }), ok=(200, 201)).json()

    chair = login(system.url, *chair_login)
    assert chair.post(f"/api/signing/requests/{request['id']}/sign").status_code == 409  # not yet her turn
    approver = login(system.url, *approver_login)
    assert approver.post(f"/api/signing/requests/{request['id']}/sign").status_code == 200
    done = chair.post(f"/api/signing/requests/{request['id']}/sign")
    assert done.status_code == 200 and done.json()["state"] == "completed", done.text

    approved = _eventually(lambda: secretary.get(f"/api/documents/{document['id']}"), ok=(200,))
    deadline = time.monotonic() + 30
    while not approved.json().get("approved_version"):
        assert time.monotonic() < deadline, approved.text
        time.sleep(0.2)
        approved = secretary.get(f"/api/documents/{document['id']}")
    version = approved.json()["approved_version"]
    assert version == document["version"] + 1  # the signed revision is the next version; the original stays
    signed = secretary.get(f"/api/documents/{document['id']}/file", params={"version": version})
    assert signed.status_code == 200
    events = [e for e in events_on_stream(system.nats.url, "documents.document.approved")
              if e["document_id"] == document["id"]]
    assert [(e["version"], e["method"]) for e in events] == [(version, "signatures")]
    assert events[0]["sha256"] == done.json()["current_sha256"]

    # pyHanko, with the organisation CA as the only trust root: both intact, valid, trusted
    ca_pem = httpx.get(f"{system.url}/api/signing/ca.pem").content
    _, _, der = pem.unarmor(ca_pem)
    context = ValidationContext(trust_roots=[x509.Certificate.load(der)], allow_fetching=False,
                                revocation_mode="soft-fail")
    embedded = PdfFileReader(io.BytesIO(signed.content)).embedded_signatures
    assert len(embedded) == 2
    for signature in embedded:
        status = validate_pdf_signature(signature, context)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    path = tmp_path / "approved.pdf"
    path.write_bytes(signed.content)
    report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert report.count("Signature is Valid") == 2, report
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert APPROVER_NAME in text and CHAIR_NAME in text

    # and only now may the congress service publish it
    publication = _eventually(lambda: secretary.post(f"/api/congresses/{congress_id}/publications",
                                                     json={"document_id": document["id"]}), ok=(200, 201))
    assert publication.json()["version"] == version
