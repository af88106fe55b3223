"""The organisation seal over an archive's seal manifest: a detached CMS signature.

The manifest is a few kilobytes (it names the hash of each tag manifest), so reading it and
storing the signature inside the event's transaction costs milliseconds. A repeated request for
the same record and manifest answers with the seal already made.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import select

import contracts.documents as dc
import contracts.signing as events
from runtime.db import UnitOfWork, utcnow
from signing import pades
from signing.db import seals
from signing.handlers import Deps
from signing.handlers import authority as ca_handlers

log = structlog.get_logger()


async def apply_seal(deps: Deps, event: dc.ArchiveSealRequested, uow: UnitOfWork) -> None:
    record_id = str(event.record_id)
    done = (await uow.session.execute(select(seals).where(
        seals.c.record_id == record_id, seals.c.manifest_sha256 == event.manifest_sha256))).first()
    if done is None:
        manifest = await deps.read_blob(event.manifest_sha256)
        signer, fingerprint = await ca_handlers.seal_signer(deps, uow)
        timestamper = pades.timestamper_for(deps.settings.tsa_url)
        try:
            seal = await asyncio.to_thread(lambda: asyncio.run(pades.seal_detached(manifest, signer, timestamper)))
        finally:
            signer.close()
        signature_sha256 = await deps.blobs.put_bytes(seal.signature_der)
        token_sha256 = await deps.blobs.put_bytes(seal.timestamp_token_der) if seal.timestamp_token_der else None
        await uow.session.execute(seals.insert().values(
            record_id=record_id, manifest_sha256=event.manifest_sha256, signature_sha256=signature_sha256,
            timestamp_token_sha256=token_sha256, certificate_sha256=fingerprint, sealed_at=utcnow(),
        ))
        log.info("signing.seal_applied", record_id=record_id, signature_sha256=signature_sha256)
    else:
        signature_sha256, token_sha256 = done.signature_sha256, done.timestamp_token_sha256
    await uow.emit(events.SealApplied(
        record_id=event.record_id, manifest_sha256=event.manifest_sha256, signature_sha256=signature_sha256,
        timestamp_token_sha256=token_sha256, congress_id=event.congress_id,
    ))
