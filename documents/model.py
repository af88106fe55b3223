"""Documents and their versions: statuses, the transitions the events drive, and naming rules. No I/O.

A document has numbered versions. Each version holds immutable bytes (a blob named by its
sha256) and a status:

    draft ──request created──▶ in_review ──request completed──▶ superseded
      ▲                            │              (its signed revision becomes the next
      └──rejected / cancelled──────┘               version, already `approved`)
    draft ──secretary approves (video, reference)──▶ approved
    approved ──congress publishes it──▶ published ──congress closes, archive seals──▶ archived

An approved or published version is never modified: no endpoint and no event changes its
bytes, its sha256 or takes its approval back; a new upload is always a new version.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal
from urllib.parse import quote

KINDS = ("report", "resolution", "minutes", "reference", "video")
Kind = Literal["report", "resolution", "minutes", "reference", "video"]

DIRECTLY_APPROVABLE: frozenset[str] = frozenset({"video", "reference"})
"""Kinds a secretary may approve without signatures (a video report, reference material)."""

DRAFT, IN_REVIEW, APPROVED, PUBLISHED, ARCHIVED, SUPERSEDED = (
    "draft", "in_review", "approved", "published", "archived", "superseded"
)  # fmt: skip
FROZEN: frozenset[str] = frozenset({APPROVED, PUBLISHED, ARCHIVED})
"""Statuses whose version can no longer change, except to be published or archived."""

VIA_SIGNATURES, VIA_SECRETARY = "signatures", "secretary"


class RuleBroken(Exception):
    """A use case refused by the rules; `code`/`message` go to the API error."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


def file_type_allowed(kind: str, file_type: str) -> bool:
    """A video document holds MP4; every other kind holds PDF."""
    return (file_type == "video") == (kind == "video")


def check_can_add_version(statuses: list[str]) -> None:
    """A new version may not arrive while another one is being signed (the signers would sign
    a version that is no longer the latest without knowing it)."""
    if IN_REVIEW in statuses:
        raise RuleBroken("document_in_review", "A signature request is open for this document; cancel it first.")


def check_can_approve_directly(kind: str) -> None:
    if kind not in DIRECTLY_APPROVABLE:
        raise RuleBroken(
            "signatures_required", "Documents of this kind are approved by signing them, not directly."
        )


def status_when_request_created(status: str) -> str | None:
    """The new status of the version a signature request was created for (None: unchanged)."""
    return IN_REVIEW if status == DRAFT else None


def status_when_request_ended(status: str) -> str | None:
    """Rejected or cancelled: the reviewed version is a draft again."""
    return DRAFT if status == IN_REVIEW else None


def status_when_published(status: str) -> str | None:
    return PUBLISHED if status == APPROVED else None


def document_status(version_statuses: list[str]) -> str:
    """A document's status is its latest version's, except that a superseded version's signed
    revision always follows it, so the latest is never superseded."""
    return version_statuses[-1] if version_statuses else DRAFT


def latest_approved(versions: list[tuple[int, str]]) -> int | None:
    """The highest version number whose status is approved, published or archived."""
    approved = [number for number, status in versions if status in FROZEN]
    return max(approved) if approved else None


# -- names ------------------------------------------------------------------------------

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ -]+")


def ascii_fallback(text: str) -> str:
    """`Báo cáo chính trị` -> `Bao cao chinh tri`, for clients that ignore RFC 5987 names."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = _UNSAFE_ASCII.sub("-", stripped).strip(" .-")
    return re.sub(r"-{2,}", "-", cleaned) or "document"


def download_name(title: str, extension: str) -> str:
    name = unicodedata.normalize("NFC", title).strip().replace("/", "-").replace("\\", "-")
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")[:150].strip() or "document"
    return name + extension


def content_disposition(file_name: str, disposition: str = "inline") -> str:
    """RFC 6266 with an RFC 5987 UTF-8 name and an ASCII fallback for old clients."""
    stem, dot, extension = file_name.rpartition(".")
    fallback = ascii_fallback(stem if dot else file_name) + (f".{extension}" if dot else "")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
