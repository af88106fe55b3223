"""The archive's background work: assemble a closed congress's record, then finish it when the seal
comes back.

The close handler only records a job (the consumer that has to make progress must not wait on
itself). This worker then, for each waiting record:
1. notes each stream's last sequence (once, kept in the record: a restart waits for the same);
2. waits, bounded, until every durable consumer of this service has passed those sequences, and
   the signed revisions of completed requests are imported (so late check-ins, views and
   signatures are in);
3. collects the record from the service's own copies, writes the bag, zips it, stores the zip and
   the seal manifest as blobs and, in one transaction, indexes it and emits seal_requested.
When `signing.seal.applied` has been recorded, it adds the seal files to the zip, stores the
sealed package and emits `documents.archive.sealed`.

Claims (`claimed_until`) keep two replicas from working on the same record at once.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from datetime import timedelta
from typing import Any

import structlog
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import or_, select, update

import contracts.documents as events
from contracts.streams import SERVICE_STREAMS
from documents import model
from documents.archive import search
from documents.archive.assemble import collect
from documents.archive.package import add_seal, build_package
from documents.archive.verify import verify_record
from documents.db import archive_records, archive_trusted_cas, documents, signing_requests, versions
from documents.handlers import Deps
from runtime.background import BackgroundLoop
from runtime.db import utcnow
from runtime.faults import fault_point

log = structlog.get_logger()

WAITING, SEALING, SEAL_ARRIVED, SEALED, FAILED = "waiting", "sealing", "seal_arrived", "sealed", "failed"
POLL_SECONDS = 0.25
CLAIM = timedelta(seconds=20)
"""How long a claim holds unless renewed. A live worker renews it every RENEW_SECONDS while it works;
the claim of a process that died mid-step (SIGKILL, power cut) lapses within CLAIM, and the record is
taken up again (by a replica, or by this process restarted) instead of waiting for minutes."""
RENEW_SECONDS = 5.0
RETRY_SECONDS = (2.0, 10.0, 30.0, 120.0, 600.0)
PROGRESS_EVERY = 5.0
UNSEALED = "package.zip"


class NotCaughtUp(RuntimeError):
    pass


class ArchiveWorker(BackgroundLoop):
    task_name = "archive-worker"
    failure_event = "archive.worker_failed"

    def __init__(self, deps: Deps, runtime: Any) -> None:
        self.deps = deps
        self.runtime = runtime
        self.wake = asyncio.Event()
        self._unsealed: dict[str, tuple[str, Any, int]] = {}
        """record id -> (sha256, hash state, size) of the unsealed zip this process left in its work dir."""


    async def pause(self) -> None:
        try:
            await asyncio.wait_for(self.wake.wait(), POLL_SECONDS)
        except TimeoutError:
            pass
        self.wake.clear()

    async def _claim(self, state: str) -> Any | None:
        now = utcnow()
        async with self.deps.db.uow() as uow:
            row = (await uow.session.execute(
                select(archive_records).where(
                    archive_records.c.state == state,
                    or_(archive_records.c.claimed_until.is_(None), archive_records.c.claimed_until < now),
                ).order_by(archive_records.c.created_at).limit(1)
            )).first()
            if row is None:
                return None
            claimed = await uow.session.execute(
                update(archive_records).where(archive_records.c.congress_id == row.congress_id,
                                              archive_records.c.state == state,
                                              or_(archive_records.c.claimed_until.is_(None),
                                                  archive_records.c.claimed_until < now))
                .values(claimed_until=now + CLAIM)
            )
            return row if claimed.rowcount == 1 else None

    async def _keep_claim(self, congress_id: str, state: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                async with self.deps.db.uow() as uow:
                    await uow.session.execute(update(archive_records).where(
                        archive_records.c.congress_id == congress_id, archive_records.c.state == state,
                    ).values(claimed_until=utcnow() + CLAIM))
            except Exception as exc:  # noqa: BLE001 - the next renewal tries again
                log.warning("archive.claim_renewal_failed", congress_id=congress_id,
                            error=str(exc) or type(exc).__name__)

    async def _release(self, congress_id: str, error: Exception | None, attempts: int) -> None:
        values: dict[str, Any] = {"claimed_until": None}
        if error is not None:
            delay = RETRY_SECONDS[min(attempts, len(RETRY_SECONDS) - 1)]
            values = {"claimed_until": utcnow() + timedelta(seconds=delay), "attempts": attempts + 1,
                      "last_error": (str(error) or type(error).__name__)[:2000]}
        async with self.deps.db.uow() as uow:
            await uow.session.execute(update(archive_records)
                                      .where(archive_records.c.congress_id == congress_id).values(**values))

    async def run_once(self) -> None:
        for state, work in ((WAITING, self.assemble), (SEAL_ARRIVED, self.finish)):
            while (row := await self._claim(state)) is not None:
                try:
                    keeper = asyncio.create_task(self._keep_claim(row.congress_id, state))
                    try:
                        await work(row)
                    finally:
                        keeper.cancel()
                        await asyncio.gather(keeper, return_exceptions=True)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - retried with backoff, loudly
                    log.error("archive.step_failed", congress_id=row.congress_id, state=state,
                              error=str(exc) or type(exc).__name__, exc_info=not isinstance(exc, NotCaughtUp))
                    await self._release(row.congress_id, exc, row.attempts)

    # -- 1-2: wait for the consumers ------------------------------------------------------

    async def wait_targets(self, row: Any) -> dict[str, int]:
        if row.wait_targets:
            return {k: int(v) for k, v in row.wait_targets.items()}
        js = self.runtime.js
        targets = {}
        for spec in SERVICE_STREAMS.values():
            targets[spec.name] = (await js.stream_info(spec.name)).state.last_seq
        if row.close_stream_seq:
            targets["CONGRESS"] = max(targets.get("CONGRESS", 0), int(row.close_stream_seq))
        async with self.deps.db.uow() as uow:
            await uow.session.execute(update(archive_records).where(archive_records.c.congress_id == row.congress_id)
                                      .values(wait_targets=targets))
        return targets

    async def lagging(self, targets: dict[str, int], congress_id: str) -> list[str]:
        behind = []
        js = self.runtime.js
        for consumer in self.runtime.consumers:
            stream = consumer.subscription.stream.name
            info = await js.consumer_info(stream, consumer.durable)
            passed = info.ack_floor.stream_seq >= targets.get(stream, 0) or (
                not info.num_pending and not info.num_ack_pending and info.delivered.stream_seq >= targets.get(stream, 0))
            if not passed:
                behind.append(f"{consumer.durable}@{info.ack_floor.stream_seq}/{targets.get(stream, 0)}")
        async with self.deps.db.session() as session:
            unimported = await session.scalar(
                select(signing_requests.c.request_id)
                .join(documents, documents.c.id == signing_requests.c.document_id)
                .where(documents.c.congress_id == congress_id, signing_requests.c.status == "completed",
                       signing_requests.c.imported_version.is_(None)).limit(1))
        if unimported:
            behind.append(f"signed-revision {unimported}")
        return behind

    async def wait_until_caught_up(self, row: Any) -> None:
        targets = await self.wait_targets(row)
        started = last_log = time.monotonic()
        while behind := await self.lagging(targets, row.congress_id):
            now = time.monotonic()
            if now - started > self.deps.settings.archive_wait_seconds:
                raise NotCaughtUp(f"consumers still behind after {now - started:.0f}s: {', '.join(behind)}")
            if now - last_log > PROGRESS_EVERY:
                log.info("archive.waiting_for_consumers", congress_id=row.congress_id, behind=behind,
                         waited_s=round(now - started))
                last_log = now
            await asyncio.sleep(POLL_SECONDS)
        log.info("archive.consumers_caught_up", congress_id=row.congress_id, targets=targets,
                 waited_s=round(time.monotonic() - started, 2))

    # -- 3: assemble and ask for the seal ------------------------------------------------

    async def assemble(self, row: Any) -> None:
        await self.wait_until_caught_up(row)
        settings = self.deps.settings
        now = utcnow()
        retain_until = now.replace(year=now.year + settings.archive_retention_years)
        async with self.deps.db.session() as session:
            collected = await collect(session, row.congress_id, row.record_id, retain_until)
        blobs = self.deps.blobs
        for path, sha in collected.blobs.items():
            collected.content.blobs[path] = await blobs.get_to_cache(sha)
        work = settings.archive_work_dir / row.record_id
        await asyncio.to_thread(shutil.rmtree, work, True)
        try:
            built = await asyncio.to_thread(build_package, work / UNSEALED, collected.content, row.record_id, now)
            bag_sha = built.sha256
            await blobs.put_file(built.path, bag_sha)
            manifest_sha = await blobs.put_bytes(built.seal_manifest)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, work, True)
            raise
        # The zip stays here for the seal to be appended in place (finish); the blob is the
        # durable copy when the seal comes back to another replica or after a restart.
        self._unsealed[row.record_id] = (bag_sha, built.prefix, built.prefix_size)
        meta = collected.meta
        async with self.deps.db.uow() as uow:
            done = await uow.session.execute(update(archive_records).where(
                archive_records.c.congress_id == row.congress_id, archive_records.c.state == WAITING,
            ).values(state=SEALING, title=meta["title"], organisation=meta["organisation"], unit=meta["unit"],
                     year=meta["year"], starts_at=meta["starts_at"], ends_at=meta["ends_at"], counts=meta["counts"],
                     files=built.files, chain_head=meta["chain_head"], chain_length=meta["chain_length"],
                     bag_sha256=bag_sha, manifest_sha256=manifest_sha, retain_until=retain_until,
                     claimed_until=None, last_error=None))
            if done.rowcount != 1:
                return
            await search.index_congress(uow.session, row.congress_id, collected.index)
            await uow.emit(events.ArchiveSealRequested(
                congress_id=uuid.UUID(row.congress_id), record_id=uuid.UUID(row.record_id),
                manifest_sha256=manifest_sha))
        log.info("archive.seal_requested", congress_id=row.congress_id, record_id=row.record_id,
                 bytes=built.payload_bytes, files=built.payload_files, events=meta["chain_length"])

    # -- 4: the seal came back ------------------------------------------------------------

    async def finish(self, row: Any) -> None:
        blobs = self.deps.blobs
        manifest = (await blobs.get_to_cache(row.manifest_sha256)).read_bytes()
        signature = (await blobs.get_to_cache(row.seal_sha256)).read_bytes()
        timestamp = (await blobs.get_to_cache(row.timestamp_sha256)).read_bytes() if row.timestamp_sha256 else None
        await self.pin_own_ca(signature)
        work = self.deps.settings.archive_work_dir / row.record_id
        target = work / UNSEALED
        sha, prefix, prefix_size = self._unsealed.pop(row.record_id, (None, None, 0))
        try:
            if sha != row.bag_sha256 or not target.exists():  # written elsewhere, or before a restart
                unsealed = await blobs.get_to_cache(row.bag_sha256)
                work.mkdir(parents=True, exist_ok=True)
                await asyncio.to_thread(shutil.copyfile, unsealed, target)
                prefix = None
            package_sha = await asyncio.to_thread(add_seal, target, manifest, signature, timestamp, prefix,
                                                  prefix_size)
            size = target.stat().st_size
            await blobs.put_file(target, package_sha)
            blobs.adopt_into_cache(target, package_sha)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        fault_point("archive.after_package")  # the sealed package is stored; the record is not yet committed
        now = utcnow()
        files = list(row.files or [])
        files += [{"path": p, "size": len(b), "sha256": _sha256_of(b)} for p, b in (
            ("seal/seal-manifest.json", manifest), ("seal/seal.p7s", signature),
            *((("seal/timestamp.tst", timestamp),) if timestamp else ()))]
        async with self.deps.db.uow() as uow:
            done = await uow.session.execute(update(archive_records).where(
                archive_records.c.congress_id == row.congress_id, archive_records.c.state == SEAL_ARRIVED,
            ).values(state=SEALED, package_sha256=package_sha, package_size=size, sealed_at=now, files=files,
                     claimed_until=None, last_error=None))
            if done.rowcount != 1:
                return
            # published versions are archived now (documents/model.py: published -> archived)
            doc_ids = select(documents.c.id).where(documents.c.congress_id == row.congress_id)
            await uow.session.execute(update(versions).where(versions.c.document_id.in_(doc_ids),
                                                             versions.c.status == model.PUBLISHED)
                                      .values(status=model.ARCHIVED))
            await uow.emit(events.ArchiveSealed(congress_id=uuid.UUID(row.congress_id),
                                                record_id=uuid.UUID(row.record_id), package_sha256=package_sha,
                                                chain_head=row.chain_head))
        log.info("archive.sealed", congress_id=row.congress_id, record_id=row.record_id, package_sha256=package_sha,
                 bytes=size)
        async with self.deps.db.session() as session:
            sealed = (await session.execute(select(archive_records).where(
                archive_records.c.congress_id == row.congress_id))).first()
        report = await verify_record(self.deps.db, blobs, self.deps.settings.archive_work_dir, sealed)
        if not report.intact:
            log.error("archive.sealed_package_does_not_verify", congress_id=row.congress_id,
                      problems=[f"{p.code} {p.path}: {p.detail}" for p in report.problems])

    async def pin_own_ca(self, signature: bytes) -> None:
        """The installation's own CA is the root of the chain in its first seal (its own signing
        service, the only publisher of signing.* subjects): pinned once, trusted from then on."""
        async with self.deps.db.session() as session:
            if await session.scalar(select(archive_trusted_cas.c.fingerprint_sha256)
                                    .where(archive_trusted_cas.c.own.is_(True)).limit(1)):
                return
        certs = [x509.load_der_x509_certificate(c.chosen.dump())
                 for c in cms.ContentInfo.load(signature)["content"]["certificates"] or [] if c.name == "certificate"]
        roots = [c for c in certs if c.issuer == c.subject]
        if not roots:
            log.warning("archive.seal_without_root", detail="register the organisation CA at /api/archive/trusted-cas")
            return
        await add_trusted_ca(self.deps, roots[0].public_bytes(serialization.Encoding.PEM).decode(), None, own=True)


def _sha256_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


async def add_trusted_ca(deps: Deps, pem: str, added_by: str | None, own: bool = False) -> tuple[dict[str, Any], bool]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    async with deps.db.uow() as uow:
        existing = (await uow.session.execute(select(archive_trusted_cas).where(
            archive_trusted_cas.c.fingerprint_sha256 == fingerprint))).first()
        if existing is None:
            await uow.session.execute(archive_trusted_cas.insert().values(
                fingerprint_sha256=fingerprint, subject=cert.subject.rfc4514_string(),
                pem=cert.public_bytes(serialization.Encoding.PEM).decode(), own=own, added_by=added_by,
                added_at=utcnow()))
    return {"fingerprint_sha256": fingerprint, "subject": cert.subject.rfc4514_string(), "own": own}, existing is None
