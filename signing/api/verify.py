"""Public verification: POST /api/signing/verify (a PDF) → what its signatures are worth."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request

from runtime import ratelimit
from runtime.audit import client_ip
from runtime.errors import Invalid, TooLarge
from signing.api.deps import Reports, SigningDeps
from signing.handlers.verification import verify_bytes

log = structlog.get_logger()

router = APIRouter(prefix="/api/signing", tags=["verify"])

WINDOW_SECONDS = 60


async def limit_uploads(request: Request, per_minute: int) -> None:
    """Verification costs CPU and is public: a few uploads a minute per client address."""
    key = f"signing.verify.{ratelimit.hashed(client_ip(request))}"
    try:
        allowed = await ratelimit.hit(request.app.state.runtime.js, key, per_minute, WINDOW_SECONDS)
    except Exception as exc:  # noqa: BLE001 - NATS briefly away: verify rather than refuse
        log.warning("ratelimit.unavailable", error=str(exc) or type(exc).__name__)
        return
    if not allowed:
        raise ratelimit.too_many(WINDOW_SECONDS)


async def read_upload(request: Request, max_bytes: int) -> bytes:
    declared = int(request.headers.get("content-length") or 0)
    if declared > max_bytes + 64 * 1024:
        raise TooLarge("file_too_large", "The file is too large.")
    form = await request.form(max_files=1, max_fields=4, max_part_size=max_bytes)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise Invalid("file_required", "Choose a PDF file to check.")
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge("file_too_large", "The file is too large.")
    return data


@router.post("/verify")
async def verify(request: Request, deps: SigningDeps, reports: Reports) -> dict[str, Any]:
    await limit_uploads(request, deps.settings.verify_uploads_per_minute)
    data = await read_upload(request, deps.settings.verify_max_bytes)
    report = await verify_bytes(deps, reports, data)
    return report.as_dict()
