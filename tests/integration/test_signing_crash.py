"""SIGKILL between producing the signed revision and committing it (`signing.after_sign`):
after a restart the signer signs again and the document holds exactly one signature, announced
by exactly one `signing.request.signed` event."""

from __future__ import annotations

import uuid

import httpx
import pytest

from runtime.processes import NatsServer
from tests.integration.signing_helpers import Harness, Person, start_signing, wait_for

CONGRESS = str(uuid.uuid4())
SECRETARY = Person("thuky.an", "Đỗ Thị An", ["secretary"])
CHAIR = Person("chu.tich", "Hoàng Văn Thụ", ["signer"])


def test_crash_after_signing_leaves_one_signature(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("signing-crash")
    server = NatsServer(root / "nats", log_path=root / "nats.log").start()
    service = start_signing(root / "var", server, {"FAULT_POINTS": "signing.after_sign"})
    try:
        h = Harness(server, service, root)
        h.publish_token_key()
        h.add_people(CONGRESS, SECRETARY, CHAIR)
        document_id, _sha, _ = h.upload(CONGRESS, "Nghị quyết bầu Ban Chấp hành")
        body = {"document_id": document_id, "version": 1, "signers": [{"username": CHAIR.username, "role": "signer"}]}
        with h.client(SECRETARY) as sec:
            req = wait_for(lambda: (r := sec.post("/api/signing/requests", json=body)).status_code == 201 and r).json()
        with h.client(CHAIR) as chair, pytest.raises(httpx.HTTPError):
            chair.post(f"/api/signing/requests/{req['id']}/sign")
        wait_for(lambda: not service.running, timeout=10)

        service.env.pop("FAULT_POINTS", None)
        service.restart()
        with h.client(SECRETARY) as sec:
            unchanged = sec.get(f"/api/signing/requests/{req['id']}").json()
        assert unchanged["state"] == "open" and unchanged["current_sha256"] == req["prepared_sha256"]
        with h.client(CHAIR) as chair:
            done = chair.post(f"/api/signing/requests/{req['id']}/sign")
            assert done.status_code == 200 and done.json()["state"] == "completed"
            again = chair.post(f"/api/signing/requests/{req['id']}/sign")
            assert again.json()["current_sha256"] == done.json()["current_sha256"]

        signed_events = wait_for(lambda: [e for e in h.events("signing.request.signed") if e["request_id"] == req["id"]])
        assert len(signed_events) == 1
        from pyhanko.pdf_utils.reader import PdfFileReader
        import io

        final = h.get_blob(done.json()["current_sha256"])
        assert len(PdfFileReader(io.BytesIO(final)).embedded_signatures) == 1
    finally:
        service.stop()
        server.stop()
