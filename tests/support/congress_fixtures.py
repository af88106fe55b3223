"""Test helpers for congresses and publications: staff clients that log in for real, and
documents made "approved" the way the documents service announces them (blob in the Object
Store, `documents.document.uploaded` and `.approved` on the DOCUMENTS stream)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import nats
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

import contracts.documents as dc
import contracts.signing as sc
from contracts.streams import BLOB_BUCKET

from tests.support.system import ADMIN_PASSWORD, ADMIN_USERNAME


def login(base_url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=60)
    answer = client.post("/api/auth/login", json={"username": username, "password": password})
    answer.raise_for_status()
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    client.cookies.clear()  # bearer only: no CSRF needed
    return client


def admin_client(base_url: str) -> httpx.Client:
    return login(base_url, ADMIN_USERNAME, ADMIN_PASSWORD)


def new_secretary(base_url: str, admin: httpx.Client, full_name: str = "Nguyễn Thị Thư Ký") -> httpx.Client:
    username = f"tk{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    answer = admin.post("/api/users", json={"username": username, "password": password, "full_name": full_name,
                                             "roles": ["secretary"]})
    answer.raise_for_status()
    return login(base_url, username, password)


def make_pdf(text: str = "Báo cáo") -> bytes:
    from runtime.pdf import register_fonts

    font = register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.setFont(font, 14)
    canvas.drawString(72, 750, text)
    canvas.drawString(72, 730, secrets.token_hex(8))  # every document its own bytes
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@dataclass(frozen=True)
class ApprovedDocument:
    document_id: str
    version: int
    sha256: str
    data: bytes
    title: str


async def _announce(nats_url: str, events: list[Any], blob: bytes | None) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        if blob is not None:
            store = await js.object_store(BLOB_BUCKET)
            await store.put(hashlib.sha256(blob).hexdigest(), blob)
        for event in events:
            await js.publish(event.subject, event.to_bytes(), headers=event.headers())
    finally:
        await nc.close()


def announce(nats_url: str, *events: Any, blob: bytes | None = None) -> None:
    # In a thread of its own: the caller may already run an event loop (Playwright's sync API does).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _announce(nats_url, list(events), blob)).result()


def approved_document(nats_url: str, congress_id: str, title: str, agenda_item_id: str | None = None,
                      approve: bool = True, data: bytes | None = None) -> ApprovedDocument:
    data = data or make_pdf(title)
    sha = hashlib.sha256(data).hexdigest()
    document_id = uuid.uuid4()
    cid = uuid.UUID(congress_id)
    events: list[Any] = [dc.DocumentUploaded(
        congress_id=cid, document_id=document_id, version=1, sha256=sha, size=len(data), pages=1, kind="report",
        title=title, content_type="application/pdf", agenda_item_id=uuid.UUID(agenda_item_id) if agenda_item_id else None)]
    if approve:
        events.append(dc.DocumentApproved(congress_id=cid, document_id=document_id, version=1, sha256=sha, title=title,
                                          kind="report", pages=1, method="secretary"))
    announce(nats_url, *events, blob=data)
    return ApprovedDocument(str(document_id), 1, sha, data, title)


def signed(nats_url: str, congress_id: str, document: ApprovedDocument, code: str) -> None:
    announce(nats_url, sc.RequestSigned(
        congress_id=uuid.UUID(congress_id), request_id=uuid.uuid4(), document_id=uuid.UUID(document.document_id),
        signer="chutich", signer_full_name="Trần Thị Chủ Tịch", role="signer", verification_code=code,
        signed_sha256=document.sha256, certificate_sha256="0" * 64, signed_at=dc.DocumentApproved.model_fields[
            "occurred_at"].default_factory()))


def publish_when_known(client: httpx.Client, congress_id: str, body: dict[str, Any], timeout: float = 10.0) -> httpx.Response:
    """Publish, retrying while the congress service has not consumed the approval yet (404/409)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        answer = client.post(f"/api/congresses/{congress_id}/publications", json=body)
        if answer.status_code in (200, 201) or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def events_on_stream(nats_url: str, subject: str, timeout: float = 1.0) -> list[dict[str, Any]]:
    """The bodies of every event on `subject` so far (an ordered consumer from the start)."""
    import json

    from contracts.streams import SERVICE_STREAMS

    async def read() -> list[dict[str, Any]]:
        nc = await nats.connect(nats_url)
        try:
            stream = SERVICE_STREAMS[subject.split(".", 1)[0]].name
            sub = await nc.jetstream().subscribe(subject, stream=stream, ordered_consumer=True)
            found: list[dict[str, Any]] = []
            while True:
                try:
                    found.append(json.loads((await sub.next_msg(timeout=timeout)).data))
                except nats.errors.TimeoutError:
                    return found
        finally:
            await nc.close()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()
