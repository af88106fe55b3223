"""Archivists' use cases: search, a record and its files, verification, importing another
installation's sealed package, and the CAs whose packages are trusted."""

from __future__ import annotations

import asyncio
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import select

import contracts.documents as events
from archive_verify import cms as archive_cms
from archive_verify import verify_package
from archive_verify.package import SEAL_MANIFEST_FILE, SEAL_SIGNATURE_FILE, SEAL_TIMESTAMP_FILE, parse_manifest
from documents.archive import search as archive_search
from documents.archive.assemble import index_entries_from_package
from documents.archive.verify import verify_record
from documents.db import archive_records, archive_trusted_cas
from documents.handlers import Deps
from documents.handlers.archive_worker import add_trusted_ca
from runtime.auth import Principal
from runtime.db import utcnow
from runtime.errors import Conflict, Invalid, NotFound
from runtime.uploads import FileType, ReceivedFile

log = structlog.get_logger()
NOT_FOUND = ("not_found", "Not found.")


def zip_type(max_bytes: int) -> FileType:
    return FileType("zip", "application/zip", ".zip", max_bytes, lambda head: head.startswith(b"PK\x03\x04"))


def _time(value: Any) -> str | None:
    return value.isoformat() if value else None


def record_view(row: Any, with_files: bool = True) -> dict[str, Any]:
    view = {
        "congress_id": row.congress_id, "record_id": row.record_id, "origin": row.origin, "state": row.state,
        "title": row.title, "organisation": row.organisation, "unit": row.unit, "year": row.year,
        "starts_at": _time(row.starts_at), "ends_at": _time(row.ends_at), "counts": row.counts or {},
        "chain_head": row.chain_head, "events": row.chain_length, "package_sha256": row.package_sha256,
        "package_size": row.package_size, "sealed_at": _time(row.sealed_at), "retain_until": _time(row.retain_until),
        "fixity": {"checked_at": _time(row.fixity_checked_at), "intact": row.fixity_intact,
                   "problems": row.fixity_problems or []},
    }
    if with_files:
        view["files"] = row.files or []
    return view


async def search_records(deps: Deps, q: str, unit: str | None, year: int | None, kind: str | None,
                         cursor: str | None, limit: int) -> dict[str, Any]:
    # A common word over a large archive ranks many matches: off the event loop.
    async with deps.db.session(offload=True) as session:
        return await archive_search.search(session, q, unit, year, kind, cursor, limit)


async def load_record(deps: Deps, congress_id: str) -> Any:
    async with deps.db.session() as session:
        row = (await session.execute(select(archive_records).where(archive_records.c.congress_id == congress_id))).first()
    if row is None:
        raise NotFound(*NOT_FOUND)
    return row


async def sealed_record(deps: Deps, congress_id: str) -> Any:
    row = await load_record(deps, congress_id)
    if row.state != "sealed":
        raise Conflict("record_not_sealed", "The record is not sealed yet.")
    return row


def file_entry(row: Any, path: str) -> dict[str, Any]:
    entry = next((f for f in row.files or [] if f["path"] == path), None)
    if entry is None:
        raise NotFound(*NOT_FOUND)
    return entry


async def package_path(deps: Deps, row: Any) -> Path:
    return await deps.blobs.get_to_cache(row.package_sha256)


def read_member(package: Path, path: str) -> bytes:
    with zipfile.ZipFile(package) as archive:
        return archive.read(path)


async def verify(deps: Deps, congress_id: str) -> dict[str, Any]:
    row = await sealed_record(deps, congress_id)
    report = await verify_record(deps.db, deps.blobs, deps.settings.archive_work_dir, row)
    result = report.as_dict()
    result.pop("record", None)
    result["congress_id"] = congress_id
    result["checked_at"] = utcnow().isoformat()
    return result


# -- trusted CAs --------------------------------------------------------------------------


async def list_cas(deps: Deps) -> dict[str, Any]:
    async with deps.db.session() as session:
        rows = (await session.execute(select(archive_trusted_cas).order_by(archive_trusted_cas.c.added_at))).all()
    return {"items": [{"fingerprint_sha256": r.fingerprint_sha256, "subject": r.subject, "own": r.own,
                       "added_by": r.added_by, "added_at": _time(r.added_at), "pem": r.pem} for r in rows],
            "next": None}


async def register_ca(deps: Deps, user: Principal, pem: str) -> tuple[dict[str, Any], bool]:
    try:
        cert = x509.load_pem_x509_certificate(pem.strip().encode())
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (ValueError, x509.ExtensionNotFound) as exc:
        raise Invalid("not_a_ca_certificate", "This is not a CA certificate in PEM form.") from exc
    if not is_ca:
        raise Invalid("not_a_ca_certificate", "This is not a CA certificate in PEM form.")
    return await add_trusted_ca(deps, pem.strip(), user.username)


# -- import -----------------------------------------------------------------------------


def _read_package(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        record = json.loads(archive.read("data/record.json"))
        roster = json.loads(archive.read("data/roster.json")) if "data/roster.json" in names else []
        docs = json.loads(archive.read("data/documents.json")) if "data/documents.json" in names else []
        texts = {d["id"]: archive.read(f"data/documents/{d['id']}/text.txt").decode("utf-8", "replace")
                 for d in docs if f"data/documents/{d['id']}/text.txt" in names}
        manifest = parse_manifest(archive.read("manifest-sha256.txt").decode())
        tags = parse_manifest(archive.read("tagmanifest-sha256.txt").decode())
        sizes = {i.filename: i.file_size for i in archive.infolist()}
        seal = {n: archive.read(n) for n in (SEAL_MANIFEST_FILE, SEAL_SIGNATURE_FILE, SEAL_TIMESTAMP_FILE)
                if n in names}
    return {"record": record, "roster": roster, "docs": docs, "texts": texts, "manifest": manifest, "tags": tags,
            "sizes": sizes, "seal": seal}


def _which_ca(seal: dict[str, bytes], cas: list[Any]) -> Any | None:
    for ca in cas:
        anchors = [x509.load_pem_x509_certificate(ca.pem.encode())]
        checked = archive_cms.check_detached(seal[SEAL_SIGNATURE_FILE], seal[SEAL_MANIFEST_FILE], anchors, None)
        if not checked.problems:
            return ca
    return None


async def import_package(deps: Deps, user: Principal, upload: ReceivedFile) -> tuple[dict[str, Any], bool]:
    async with deps.db.session() as session:
        cas = (await session.execute(select(archive_trusted_cas))).all()
    report = await asyncio.to_thread(verify_package, upload.path, [ca.pem.encode() for ca in cas])
    if report.problems:
        untrusted = all(p.code == "seal_untrusted" for p in report.problems)
        raise Invalid("package_untrusted" if untrusted else "package_damaged",
                      "The package is not sealed by a CA registered here." if untrusted
                      else "The package does not verify: {problems}",
                      problems="; ".join(f"{p.path}: {p.detail}" for p in report.problems[:5]))
    content = await asyncio.to_thread(_read_package, upload.path)
    ca = _which_ca(content["seal"], cas)
    record = content["record"]
    congress = record.get("congress", {})
    congress_id = str(uuid.UUID(congress["id"]))
    existing = (await _existing(deps, congress_id))
    if existing is not None:
        if existing.package_sha256 == upload.sha256:
            return record_view(existing), False
        raise Conflict("record_exists", "A record for this congress is already filed; sealed records are never replaced.")
    await deps.blobs.put_file(upload.path, upload.sha256)
    # The signed documents become blobs here too, so /verify/{code} can show them at this installation.
    signatures: list[events.ImportedSignature] = []
    with zipfile.ZipFile(upload.path) as archive:
        for doc in content["docs"]:
            data = archive.read(doc["file"])
            sha = await deps.blobs.put_bytes(data)
            for s in doc.get("signatures", []):
                signatures.append(events.ImportedSignature(
                    verification_code=s["verification_code"], signer_full_name=s["signer_full_name"], role=s["role"],
                    signed_at=s.get("signed_at"), document_title=doc["title"], signed_sha256=sha))
    deps.blobs.adopt_into_cache(upload.path, upload.sha256)
    files = [{"path": p, "size": content["sizes"].get(p, 0), "sha256": d}
             for p, d in {**content["manifest"], **content["tags"]}.items()]
    starts = congress.get("starts_at")
    entries = index_entries_from_package(record, content["roster"], content["docs"], content["texts"])
    from datetime import datetime

    async with deps.db.uow() as uow:
        await uow.session.execute(archive_records.insert().values(
            congress_id=congress_id, record_id=record["record_id"], origin="imported", state="sealed", attempts=0,
            title=congress.get("title", ""), organisation=congress.get("organisation", ""),
            unit=congress.get("unit", ""), year=entries[0]["year"],
            starts_at=datetime.fromisoformat(starts) if starts else None,
            ends_at=datetime.fromisoformat(congress["ends_at"]) if congress.get("ends_at") else None,
            counts=record.get("counts"), files=files, chain_head=report.chain_head, chain_length=report.events,
            package_sha256=upload.sha256, package_size=upload.size, trusted_ca_fingerprint=ca.fingerprint_sha256,
            created_at=utcnow(), sealed_at=datetime.fromisoformat(report.sealed_at) if report.sealed_at else utcnow(),
            retain_until=datetime.fromisoformat(record["retain_until"]) if record.get("retain_until") else None,
        ))
        await archive_search.index_congress(uow.session, congress_id, entries)
        await uow.emit(events.ArchiveImported(
            congress_id=uuid.UUID(congress_id), record_id=uuid.UUID(record["record_id"]),
            package_sha256=upload.sha256, organisation=congress.get("organisation", ""),
            title=congress.get("title", ""), ca_pem=ca.pem, signatures=signatures, actor=user.id))
    log.info("archive.imported", congress_id=congress_id, package_sha256=upload.sha256,
             ca=ca.fingerprint_sha256, signatures=len(signatures))
    return record_view(await load_record(deps, congress_id)), True


async def _existing(deps: Deps, congress_id: str) -> Any | None:
    async with deps.db.session() as session:
        return (await session.execute(select(archive_records).where(
            archive_records.c.congress_id == congress_id))).first()


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()
