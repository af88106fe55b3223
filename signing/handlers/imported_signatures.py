"""Imported archive records: keep their signatures' codes so that /verify/{code} works here too.

When the archive (documents service) files a sealed package from another installation, it
announces `documents.archive.imported` with each verification code, the blob of the signed
document, and the CA that verified the package. That CA becomes a trust root for those
documents only: the organisation's own CA is not replaced, and nothing signed here is judged
against it.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select

import contracts.documents as dc
from runtime.db import UnitOfWork, utcnow
from signing import model
from signing.db import imported_cas, imported_signatures
from signing.handlers import Deps
from signing.validation import Report, TrustAnchors, verify_pdf

IMPORTED_CACHE_KEY = -1
"""Reports of imported documents are cached apart from the organisation's (keyed by CRL number ≥ 0)."""


def _signed_at(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


async def when_archive_imported_keep_signatures(event: dc.ArchiveImported, uow: UnitOfWork) -> None:
    cert = x509.load_pem_x509_certificate(event.ca_pem.encode())
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    session = uow.session
    if await session.scalar(select(imported_cas.c.fingerprint_sha256)
                            .where(imported_cas.c.fingerprint_sha256 == fingerprint)) is None:
        await session.execute(imported_cas.insert().values(
            fingerprint_sha256=fingerprint, cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            subject=cert.subject.rfc4514_string()[:500], added_at=utcnow()))
    for signature in event.signatures:
        code = model.normalise_code(signature.verification_code)
        if await session.scalar(select(imported_signatures.c.verification_code)
                                .where(imported_signatures.c.verification_code == code)) is not None:
            continue  # read-only: a code already filed is never replaced
        await session.execute(imported_signatures.insert().values(
            verification_code=code, record_id=str(event.record_id),
            congress_id=str(event.congress_id) if event.congress_id else None,
            organisation=event.organisation[:300], document_title=signature.document_title[:500],
            signer_full_name=signature.signer_full_name[:200], role=signature.role[:20],
            signed_at=_signed_at(signature.signed_at), signed_sha256=signature.signed_sha256,
            ca_fingerprint_sha256=fingerprint, imported_at=utcnow()))


def _anchors(cert_pem: str) -> TrustAnchors:
    root = asn1_x509.Certificate.load(x509.load_pem_x509_certificate(cert_pem.encode())
                                      .public_bytes(serialization.Encoding.DER))
    # The other installation's revocation lists are not here: a certificate that declares
    # one is not refused for its absence (soft-fail), and the package's seal already vouched
    # for these documents when it was imported.
    return TrustAnchors(roots=[root], intermediates=[], crls=[], timestamp_roots=[root],
                        revocation_mode="soft-fail")


async def verify_imported_code(deps: Deps, cache: Any, code: str) -> tuple[dict[str, Any], Report] | None:
    """An imported document's code: its facts and the check of its blob against the imported CA."""
    async with deps.db.session() as session:
        row = (await session.execute(select(imported_signatures)
                                     .where(imported_signatures.c.verification_code == code))).first()
        if row is None:
            return None
        ca = (await session.execute(select(imported_cas).where(
            imported_cas.c.fingerprint_sha256 == row.ca_fingerprint_sha256))).first()
    data = await deps.read_blob(row.signed_sha256)
    key = (hashlib.sha256(data).hexdigest() + ":" + row.ca_fingerprint_sha256, IMPORTED_CACHE_KEY)
    report = cache.get(key)
    if report is None:
        report = await asyncio.to_thread(verify_pdf, data, _anchors(ca.cert_pem))
        cache.put(key, report)
    facts = {
        "code": code, "title": row.document_title, "state": "completed", "sha256": row.signed_sha256,
        "signer": row.signer_full_name, "role": row.role, "signed_at": row.signed_at,
        "imported_from": row.organisation,
    }
    return facts, report
