"""Helpers for documents-service tests: staff tokens, congress events, test PDFs and videos.

Tokens are real ES256 tokens signed with a test key whose public half is published to the KV
bucket `shared` under `auth.keys`, exactly where runtime/auth.py reads the congress service's
keys: the service verifies them on its real path. Congress facts arrive as real events on the
CONGRESS stream, so the service's real consumers build their copies.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jwt
import nats
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import contracts.congress as cc
from contracts.streams import BLOB_BUCKET, SHARED_KV_BUCKET
from runtime.auth import ALGORITHM, ISSUER, KEYS_KV_KEY
from tests.support.events import publish


@dataclass
class Staff:
    user_id: str
    username: str
    roles: list[str]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class TokenMinter:
    """A test signing key published as the congress service would publish its own."""

    nats_url: str
    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def publish_key(self) -> None:
        public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

        async def go() -> None:
            nc = await nats.connect(self.nats_url)
            try:
                kv = await nc.jetstream().key_value(SHARED_KV_BUCKET)
                await kv.put(KEYS_KV_KEY, json.dumps({"keys": [{"kid": self.kid, "public_pem": public_pem}]}).encode())
            finally:
                await nc.close()

        asyncio.run(go())

    def token(self, user_id: str, username: str, roles: Sequence[str], full_name: str = "") -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": user_id, "sid": uuid.uuid4().hex, "iat": now, "auth_time": now,
                  "exp": now + 3600, "username": username, "name": full_name or username, "roles": list(roles)}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def staff(self, username: str, roles: Sequence[str]) -> Staff:
        user_id = str(uuid.uuid4())
        return Staff(user_id, username, list(roles), self.token(user_id, username, roles))


def user_events(staff: Staff, full_name: str = "") -> list[cc.UserCreated]:
    return [cc.UserCreated(user_id=uuid.UUID(staff.user_id), username=staff.username,
                           full_name=full_name or staff.username, roles=staff.roles)]  # type: ignore[arg-type]


def congress_events(congress_id: uuid.UUID, title: str, staff: Sequence[Staff],
                    agenda: Sequence[tuple[uuid.UUID, str]] = ()) -> list[cc.Event]:
    events: list[cc.Event] = [cc.CongressCreated(
        congress_id=congress_id, title=title, organisation="Hội Liên hiệp Phụ nữ phường Bến Nghé",
        unit="Phường Bến Nghé", venue="Hội trường Ủy ban nhân dân phường",
        starts_at=datetime(2026, 12, 5, 1, 30, tzinfo=UTC), ends_at=None, quorum=0.5,
    )]
    for member in staff:
        events.append(cc.StaffAdded(congress_id=congress_id, user_id=uuid.UUID(member.user_id),
                                    username=member.username))
    if agenda:
        events.append(cc.AgendaChanged(congress_id=congress_id, items=[
            cc.AgendaItem(id=item_id, position=i, title=item_title) for i, (item_id, item_title) in enumerate(agenda, 1)
        ]))
    return events


def send(nats_url: str, events: Sequence[cc.Event]) -> None:
    publish(nats_url, events)


# -- files -----------------------------------------------------------------------------------


def vietnamese_pdf(lines: Sequence[str], pages: int = 1) -> bytes:
    """A PDF drawn with Noto Sans (the font is set again on every page: showPage resets it)."""
    from reportlab.pdfgen import canvas

    from runtime.pdf import register_fonts

    font = register_fonts()
    out = io.BytesIO()
    page = canvas.Canvas(out)
    for number in range(pages):
        page.setFont(font, 13)
        y = 780
        for line in lines:
            page.drawString(60, y, line)
            y -= 20
        page.drawString(60, 60, f"Trang {number + 1}")
        page.showPage()
    page.save()
    return out.getvalue()


def encrypted_pdf(data: bytes, user_password: str = "mật-khẩu") -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(user_password, "owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bomb_pdf(inflated_bytes: int = 80 * 1024 * 1024) -> bytes:
    """A one-page PDF whose content stream is a few hundred KB deflated and `inflated_bytes` inflated."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    stream = b"".join(compressor.compress(chunk) for _ in range(inflated_bytes // len(chunk))) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def mp4_bytes(size: int = 4096) -> bytes:
    """An ISO base media file: an `ftyp` box then an `mdat` box of filler."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    payload = bytes(range(256)) * (max(0, size - len(ftyp) - 8) // 256 + 1)
    payload = payload[: max(0, size - len(ftyp) - 8)]
    return ftyp + (len(payload) + 8).to_bytes(4, "big") + b"mdat" + payload


# -- the blob bucket -------------------------------------------------------------------------


def blob_info(nats_url: str, sha256: str):  # type: ignore[no-untyped-def]
    """The Object Store's info for a blob, or None when there is no such object."""
    from nats.js.errors import NotFoundError

    async def go():  # type: ignore[no-untyped-def]
        nc = await nats.connect(nats_url)
        try:
            obs = await nc.jetstream().object_store(BLOB_BUCKET)
            try:
                return await obs.get_info(sha256)
            except NotFoundError:
                return None
        finally:
            await nc.close()

    return asyncio.run(go())


def put_blob(nats_url: str, data: bytes) -> str:
    import hashlib

    sha256 = hashlib.sha256(data).hexdigest()

    async def go() -> None:
        nc = await nats.connect(nats_url)
        try:
            obs = await nc.jetstream().object_store(BLOB_BUCKET)
            await obs.put(sha256, data)
        finally:
            await nc.close()

    asyncio.run(go())
    return sha256
