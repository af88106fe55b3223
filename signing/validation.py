"""Checking the signatures of a PDF against the organisation's CA (CPU only).

For each signature: who signed, when (a timestamp authority's time when there is a
timestamp, otherwise the signer's own claim), whether the signed bytes are intact, whether
the certificate chains to the organisation CA and was not revoked at that time, and what
changed in the file after it was signed. One verdict sums it up:

- `valid`: intact, trusted, and later changes are only further signatures or validation data;
- `untrusted`: intact, but the certificate is not the organisation's or was revoked then;
- `invalid`: the bytes were changed, or the file was modified in a way a signature forbids.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

Verdict = Literal["valid", "untrusted", "invalid"]
Changes = Literal["none", "signatures", "other"]


@dataclass(frozen=True)
class TrustAnchors:
    roots: list  # asn1crypto certificates: the organisation's root (or the imported chain's top)
    intermediates: list
    crls: list[bytes]  # DER, the organisation CA's current CRL
    timestamp_roots: list = field(default_factory=list)
    revocation_mode: str = "hard-fail"  # "soft-fail" for an imported archive's CA (its CRLs are not here)


@dataclass(frozen=True)
class SignatureReport:
    field: str
    signer: str
    organisation: str
    signed_at: datetime | None
    time_is_claimed: bool  # no timestamp: the time is only the signer's claim
    intact: bool
    trusted: bool
    revoked: bool
    changes_after: Changes
    verdict: Verdict
    certificate_sha256: str


@dataclass(frozen=True)
class Report:
    signatures: list[SignatureReport]
    verdict: Verdict | Literal["unsigned", "unreadable"]

    def as_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "signatures": [
                {
                    "field": s.field, "signer": s.signer, "organisation": s.organisation,
                    "signed_at": s.signed_at.isoformat() if s.signed_at else None,
                    "time_is_claimed": s.time_is_claimed, "intact": s.intact, "trusted": s.trusted,
                    "revoked": s.revoked, "changes_after": s.changes_after, "verdict": s.verdict,
                    "certificate_sha256": s.certificate_sha256,
                }
                for s in self.signatures
            ],
        }


def _timestamp_time(signer_info: cms.SignerInfo) -> datetime | None:
    for attribute in signer_info["unsigned_attrs"] or []:
        if attribute["type"].native == "signature_time_stamp_token":
            token = attribute["values"][0]
            tst_info = token["content"]["encap_content_info"]["content"].parsed
            return tst_info["gen_time"].native
    return None


def _context(anchors: TrustAnchors, moment: datetime | None) -> ValidationContext:
    # Revocation is judged at the signing moment; a CRL issued later still tells what was
    # revoked then (retroactive), which is how a signature made before a revocation stays valid.
    return ValidationContext(
        trust_roots=anchors.roots,
        other_certs=anchors.intermediates,
        crls=[asn1_crl.CertificateList.load(c) for c in anchors.crls],
        moment=moment,
        retroactive_revinfo=True,
        allow_fetching=False,
        revocation_mode=anchors.revocation_mode,
    )


def verify_pdf(data: bytes, anchors: TrustAnchors) -> Report:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - a damaged or non-PDF file is a verdict, not an error
        return Report([], "unreadable")
    if not embedded:
        return Report([], "unsigned")
    reports = [_check(sig, anchors) for sig in embedded]
    if any(r.verdict == "invalid" for r in reports):
        overall: Verdict = "invalid"
    elif any(r.verdict == "untrusted" for r in reports):
        overall = "untrusted"
    else:
        overall = "valid"
    return Report(reports, overall)


def _check(sig, anchors: TrustAnchors) -> SignatureReport:  # type: ignore[no-untyped-def]
    cert = sig.signer_cert
    subject = cert.subject.native
    stamped = _timestamp_time(sig.signer_info)
    claimed = sig.self_reported_timestamp
    moment = stamped or claimed or datetime.now(UTC)
    try:
        status = validate_pdf_signature(
            sig,
            signer_validation_context=_context(anchors, moment),
            ts_validation_context=ValidationContext(trust_roots=anchors.timestamp_roots or anchors.roots,
                                                    allow_fetching=False),
        )
        intact, cryptographically_valid = status.intact, status.valid
        trusted, revoked = status.trusted, status.revoked
        level = status.modification_level
        docmdp_ok = status.docmdp_ok is not False
        # a timestamp whose token does not verify or does not chain to a trusted TSA root proves
        # nothing about the time: the signer's claim is all there is
        ts = status.timestamp_validity
        if stamped is not None and not (ts is not None and ts.intact and ts.valid and ts.trusted):
            stamped = None
    except Exception:  # noqa: BLE001 - a mangled signature dictionary: not intact
        intact = cryptographically_valid = trusted = revoked = False
        level, docmdp_ok = ModificationLevel.OTHER, False
    if level in (None, ModificationLevel.NONE):
        changes: Changes = "none"
    elif level in (ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING):
        changes = "signatures"
    else:
        changes = "other"
    if not (intact and cryptographically_valid) or not docmdp_ok or changes == "other":
        verdict: Verdict = "invalid"
    elif not trusted or revoked:
        verdict = "untrusted"
    else:
        verdict = "valid"
    return SignatureReport(
        field=str(sig.field_name),
        signer=str(subject.get("common_name", "")),
        organisation=str(subject.get("organization_name", "") or ""),
        signed_at=stamped or claimed,
        time_is_claimed=stamped is None,
        intact=bool(intact and cryptographically_valid),
        trusted=bool(trusted and not revoked),
        revoked=bool(revoked),
        changes_after=changes,
        verdict=verdict,
        certificate_sha256=cert.sha256.hex(),
    )


__all__ = ["Report", "SignatureReport", "TrustAnchors", "verify_pdf"]
