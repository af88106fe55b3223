"""Online verification of a stored record: the same check as the offline `archive_verify`
(every file re-hashed, chain, head, seal, timestamp) over the bytes the Object Store holds now,
plus what only this installation can check: the package is the one it sealed, and the event
log it still holds agrees with the sealed chain."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from nats.js.errors import NotFoundError, ObjectNotFoundError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from archive_verify import verify_package
from archive_verify.package import GENESIS, chain_hash
from archive_verify.verify import Problem, Report
from documents.db import archive_trusted_cas, event_log
from runtime.blobs import BlobStore


async def fetch_fresh(blobs: BlobStore, sha256: str, directory: Path) -> Path | None:
    """The blob's bytes as the Object Store holds them now (not the cache, unchecked): None if gone."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="verify-", suffix=".zip", dir=directory)
    obs = await blobs._obs()  # noqa: SLF001 - the store itself, deliberately bypassing the verified cache
    try:
        with os.fdopen(fd, "wb") as fh:
            await obs.get(sha256, writeinto=fh)
    except (ObjectNotFoundError, NotFoundError):
        Path(name).unlink(missing_ok=True)
        return None
    return Path(name)


async def trusted_pems(session: AsyncSession, record: Any) -> list[bytes]:
    query = select(archive_trusted_cas.c.pem)
    if record.origin == "imported":
        query = query.where(archive_trusted_cas.c.fingerprint_sha256 == record.trusted_ca_fingerprint)
    else:
        query = query.where(archive_trusted_cas.c.own.is_(True))
    return [row.pem.encode() for row in (await session.execute(query)).all()]


async def stored_chain_problems(session: AsyncSession, record: Any) -> list[Problem]:
    """The sealed part of the congress's event log, as this service still holds it."""
    rows = (await session.execute(
        select(event_log.c.payload, event_log.c.prev_hash, event_log.c.hash)
        .where(event_log.c.congress_id == record.congress_id).order_by(event_log.c.id).limit(record.chain_length or 0)
    )).all()
    prev = GENESIS
    for number, row in enumerate(rows, start=1):
        if row.prev_hash != prev or chain_hash(row.prev_hash, row.payload) != row.hash:
            return [Problem("chain_broken", "event_log", f"the stored event log breaks at event {number}")]
        prev = row.hash
    if len(rows) != (record.chain_length or 0) or prev != record.chain_head:
        return [Problem("chain_head_mismatch", "event_log", "the stored event log no longer ends at the sealed head")]
    return []


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


async def verify_record(db: Any, blobs: BlobStore, work_dir: Path, record: Any) -> Report:
    async with db.session() as session:
        pems = await trusted_pems(session, record)
        chain_problems = await stored_chain_problems(session, record) if record.origin == "local" else []
    path = await fetch_fresh(blobs, record.package_sha256, work_dir)
    if path is None:
        report = Report()
        report.add("file_missing", "package", "the package is no longer in the Object Store")
        return report
    try:
        if not pems:
            report = await asyncio.to_thread(verify_package, path, [])
        else:
            report = await asyncio.to_thread(verify_package, path, pems)
        actual = await asyncio.to_thread(_sha256, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if actual != record.package_sha256:
        report.add("file_changed", "package", "the package's sha256 is not the one recorded when it was sealed")
    if report.chain_head and report.chain_head != record.chain_head:
        report.add("chain_head_mismatch", "chain-head.txt", "the package's chain head is not the recorded one")
    report.problems.extend(chain_problems)
    return report
