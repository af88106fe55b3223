"""Publishing an approved document version behind a short unguessable token (the QR code)."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from runtime.errors import Conflict, NotFound

Audience = Literal["public", "delegates"]
TOKEN_BYTES = 12  # 96 bits; 16 characters keep the poster's QR code small


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True)
class KnownVersion:
    """A document version as the documents service reported it."""

    document_id: str
    version: int
    congress_id: str | None
    sha256: str
    title: str
    kind: str
    pages: int
    size: int
    content_type: str
    agenda_item_id: str | None
    approved: bool


def choose_version(versions: list[KnownVersion], congress_id: str, version: int | None) -> KnownVersion:
    """The version to publish: the one asked for, else the newest approved one; only approved ones."""
    mine = [v for v in versions if v.congress_id in (None, congress_id)]
    if not versions or not mine:
        raise NotFound("document_not_found", "This document is unknown to this congress.")
    if version is not None:
        wanted = next((v for v in mine if v.version == version), None)
        if wanted is None:
            raise NotFound("version_not_found", "This version of the document does not exist.")
        if not wanted.approved:
            raise Conflict("not_approved", "Only an approved version can be published.")
        return wanted
    approved = [v for v in mine if v.approved]
    if not approved:
        raise Conflict("not_approved", "Only an approved version can be published.")
    return max(approved, key=lambda v: v.version)


def content_disposition(title: str, content_type: str, disposition: str = "inline") -> str:
    """RFC 6266/5987: an ASCII fallback and the exact Vietnamese name."""
    extension = {"application/pdf": ".pdf", "video/mp4": ".mp4"}.get(content_type, "")
    name = unicodedata.normalize("NFC", title).strip().replace("/", "-").replace("\\", "-")[:150] or "tai-lieu"
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C") + extension
    ascii_name = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = "".join(c for c in ascii_name if c.isascii() and (c.isalnum() or c in " .-_")) or "document"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
