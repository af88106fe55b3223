"""Helpers for the signing service's integration tests: a signing process on a private NATS,
events published as the other services would, blobs in the Object Store, and staff tokens minted
with a test key published where every service reads token keys (KV `shared`/`auth.keys`)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import nats
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

import contracts.congress as cc
import contracts.documents as dc
from contracts.base import Event
from contracts.streams import BLOB_BUCKET, SHARED_KV_BUCKET
from runtime.pdf import register_fonts
from runtime.processes import NatsServer, ServiceProcess
from tests.support.system import start_service


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@dataclass
class Person:
    username: str
    full_name: str
    roles: list[str]
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Harness:
    nats: NatsServer
    service: ServiceProcess
    data_dir: Path
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")

    @property
    def url(self) -> str:
        return self.service.url

    # -- NATS -------------------------------------------------------------------------------

    async def _with_js(self, fn):  # type: ignore[no-untyped-def]
        nc = await nats.connect(self.nats.url)
        try:
            return await fn(nc.jetstream())
        finally:
            await nc.close()

    def publish(self, *events: Event) -> None:
        async def go(js):  # type: ignore[no-untyped-def]
            for event in events:
                await js.publish(event.subject, event.to_bytes(), headers=event.headers())

        run(self._with_js(go))

    def put_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()

        async def go(js):  # type: ignore[no-untyped-def]
            await (await js.object_store(BLOB_BUCKET)).put(sha, data)

        run(self._with_js(go))
        return sha

    def get_blob(self, sha: str) -> bytes:
        async def go(js):  # type: ignore[no-untyped-def]
            return (await (await js.object_store(BLOB_BUCKET)).get(sha)).data

        return run(self._with_js(go))

    def events(self, subject: str) -> list[dict[str, Any]]:
        """Every message on `subject` in the SIGNING stream, in order (payloads)."""

        async def go(js):  # type: ignore[no-untyped-def]
            found = []
            sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.ALL)
            info = await js.stream_info("SIGNING")
            last = info.state.last_seq
            try:
                while True:
                    msg = await sub.next_msg(timeout=1)
                    found.append(json.loads(msg.data))
                    if msg.metadata.sequence.stream >= last:
                        break
            except (TimeoutError, nats.errors.TimeoutError):
                pass
            await sub.unsubscribe()
            return found

        return run(self._with_js(go))

    def publish_token_key(self) -> None:
        public = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()

        async def go(js):  # type: ignore[no-untyped-def]
            # the service creates the bucket once NATS is up, which may be just after /healthz answers
            for _ in range(100):
                try:
                    kv = await js.key_value(SHARED_KV_BUCKET)
                    break
                except nats.js.errors.BucketNotFoundError:
                    await asyncio.sleep(0.1)
            await kv.put("auth.keys", json.dumps({"keys": [{"kid": self.kid, "public_pem": public}]}).encode())

        run(self._with_js(go))

    # -- people and tokens ---------------------------------------------------------------------

    def token(self, person: Person, auth_age: int = 0) -> str:
        now = int(time.time())
        claims = {"iss": "congress", "sub": person.user_id, "sid": uuid.uuid4().hex, "iat": now, "exp": now + 3600,
                  "auth_time": now - auth_age, "username": person.username, "name": person.full_name,
                  "roles": person.roles}
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})

    def client(self, person: Person, auth_age: int = 0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token(person, auth_age)}"})

    def add_people(self, congress_id: str, *people: Person, organisation: str = "Hội Liên hiệp Phụ nữ phường Bến Nghé") -> None:
        evs: list[Event] = []
        for p in people:
            evs.append(cc.UserCreated(user_id=p.user_id, username=p.username, full_name=p.full_name,  # type: ignore[arg-type]
                                      roles=p.roles, organisation=organisation))  # type: ignore[arg-type]
            evs.append(cc.StaffAdded(user_id=p.user_id, username=p.username,  # type: ignore[arg-type]
                                     congress_id=uuid.UUID(congress_id)))
        self.publish(*evs)

    def upload(self, congress_id: str, title: str, pages: int = 3) -> tuple[str, str, bytes]:
        """A PDF as the documents service would announce it; returns (document_id, sha256, bytes)."""
        data = make_pdf(title, pages)
        sha = self.put_blob(data)
        document_id = str(uuid.uuid4())
        self.publish(dc.DocumentUploaded(
            document_id=document_id, version=1, sha256=sha, size=len(data), pages=pages, kind="resolution",  # type: ignore[arg-type]
            title=title, content_type="application/pdf", congress_id=uuid.UUID(congress_id),
        ))
        return document_id, sha, data


def make_pdf(title: str, pages: int) -> bytes:
    font = register_fonts()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for n in range(pages):
        c.setFont(font, 14)
        c.drawString(72, 760, title)
        c.drawString(72, 730, f"Trang {n + 1}: nội dung nghị quyết — đoàn kết, sáng tạo, phát triển.")
        c.showPage()
    c.save()
    return out.getvalue()


def start_signing(data_dir: Path, nats_server: NatsServer, extra_env: dict[str, str] | None = None) -> ServiceProcess:
    env = {"ORGANISATION_NAME": "Hội Liên hiệp Phụ nữ Việt Nam", **(extra_env or {})}
    return start_service("signing", nats_server.url, data_dir, env, public_base_url="http://verify.example.vn")


def wait_for(fn, timeout: float = 20.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Call fn until it returns something truthy (consumers apply events asynchronously)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")
