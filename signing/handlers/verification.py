"""Verifying a PDF's signatures for anyone: an uploaded file, or the revision a stamp's code names.

Results are cached per (file hash, CRL number): the same file checked again against the same
revocation list gives the same answer, and a verification page opened by fifty phones after a
QR code is shown on the screen costs one validation.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import Any

from sqlalchemy import select

from signing import model
from signing.db import requests, slots
from signing.handlers import Deps
from signing.handlers import authority as ca_handlers
from signing.handlers import imported_signatures
from signing.validation import Report, verify_pdf

CACHE_SIZE = 256


class ReportCache:
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], Report] = OrderedDict()

    def get(self, key: tuple[str, int]) -> Report | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple[str, int], report: Report) -> None:
        self._items[key] = report
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


async def verify_bytes(deps: Deps, cache: ReportCache, data: bytes) -> Report:
    anchors, crl_number = await ca_handlers.trust_anchors(deps)
    key = (hashlib.sha256(data).hexdigest(), crl_number)
    found = cache.get(key)
    if found is None:
        found = await asyncio.to_thread(verify_pdf, data, anchors)
        cache.put(key, found)
    return found


async def verify_code(deps: Deps, cache: ReportCache, code: str) -> tuple[dict[str, Any], Report] | None:
    """What a stamp's code names: the request's latest revision (the final one once completed)."""
    code = model.normalise_code(code)
    async with deps.db.session() as session:
        slot = (await session.execute(select(slots).where(slots.c.verification_code == code))).first()
        if slot is None:  # not signed here: perhaps a document of an imported archive record
            return await imported_signatures.verify_imported_code(deps, cache, code)
        row = (await session.execute(select(requests).where(requests.c.id == slot.request_id))).first()
    data = await deps.read_blob(row.current_sha256)
    report = await verify_bytes(deps, cache, data)
    facts = {
        "code": code, "title": row.title, "state": row.state, "sha256": row.current_sha256,
        "signer": slot.full_name, "role": slot.role, "signed_at": slot.signed_at,
    }
    return facts, report
