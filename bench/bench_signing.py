"""PAdES signing and verification cost, against pyHanko doing the bare job in the same run.

1. Signing a 20-page PDF the way the service does (the Vietnamese stamp drawn with reportlab,
   PAdES B-LT: a timestamp from a local RFC 3161 authority and the validation data of both
   chains embedded) against pyHanko signing the same prepared PDF into an invisible field with
   no stamp, with the same key, timestamp authority and validation data. Goal: at most 2x.
2. Verifying a 3-signature PDF with `signing.validation.verify_pdf` (what the verification page
   runs, without its cache) against pyHanko's `validate_pdf_signature` on each signature with a
   plain validation context. Goal: at most 1.5x.

Medians of several interleaved runs after a warm-up; the timestamp authority is certomancer's,
run locally (tests/support/tsa.py), so its round trip is in both numbers alike.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import crl as asn1_crl
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from bench.harness import Figure
from signing import pades, pki, stamp
from signing.signer import BuiltinKeySigner, asn1_cert
from signing.validation import TrustAnchors, verify_pdf
from tests.integration.signing_helpers import make_pdf
from tests.support.tsa import LocalTimestampAuthority

ROUNDS = 7
PAGES = 20
MAX_SIGN_RATIO = 2.0
MAX_VERIFY_RATIO = 1.5
ORGANISATION = "Hội Liên hiệp Phụ nữ Việt Nam"
NAMES = ["Nguyễn Thị Hồng Nhung", "Trần Văn Đức", "Lê Thị Thu Hà"]


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-signing-") as tmp, LocalTimestampAuthority(Path(tmp) / "tsa") as tsa:
        return measure(tsa)


def measure(tsa: LocalTimestampAuthority) -> list[Figure]:
    now = datetime.now(UTC)
    ca_key, ca_cert = pki.create_root_ca(ORGANISATION, now)
    crl_der = pki.build_crl(ca_key, ca_cert, [], 2, now).public_bytes(serialization.Encoding.DER)
    tsa_root = asn1_cert(pki.from_pem(tsa.ca_file.read_text()))
    people = [pki.issue_person_certificate(ca_key, ca_cert, full_name=name, organisation=ORGANISATION,
                                           username=f"u{n}", now=now, crl_url="http://127.0.0.1:9/api/signing/crl")
              for n, name in enumerate(NAMES)]
    evidence = pades.Evidence(trust_roots=[asn1_cert(ca_cert)], other_certs=[], crls=[crl_der],
                              timestamper=pades.timestamper_for(tsa.url), allow_fetching=True,
                              timestamp_roots=[tsa_root])
    original = make_pdf("Nghị quyết Đại hội đại biểu Phụ nữ toàn quốc", PAGES)
    prepared = pades.prepare_for_signing(original, "Nghị quyết", [stamp.SlotLabel(n, "signer") for n in NAMES])

    def ours(position: int, data: bytes) -> bytes:
        key, cert = people[position]
        art = stamp.stamp_pdf(stamp.StampText(NAMES[position], "signer", ORGANISATION, datetime.now(UTC),
                                              "ABCDE-12345", "https://example.vn/verify/ABCDE-12345"))
        return asyncio.run(pades.sign_pdf(data, position, BuiltinKeySigner(key, cert, [ca_cert]), art, evidence))

    def bare(data: bytes) -> bytes:
        key, cert = people[0]
        meta = signers.PdfSignatureMetadata(field_name="Baseline", subfilter=SigSeedSubFilter.PADES,
                                            md_algorithm="sha256", embed_validation_info=True,
                                            validation_context=evidence.validation_context())
        signer = BuiltinKeySigner(key, cert, [ca_cert]).pyhanko_signer()
        pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=evidence.timestamper)
        out = asyncio.run(pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data), strict=False),
                                                    output=io.BytesIO()))
        return out.getvalue()

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    ours(0, prepared), bare(prepared)  # warm-up: imports, fonts, the TSA's first answers
    sign_ours, sign_bare = [], []
    for _ in range(ROUNDS):  # interleaved, so drift hits both alike
        sign_ours.append(timed(lambda: ours(0, prepared)))
        sign_bare.append(timed(lambda: bare(prepared)))
    ours_s, bare_s = statistics.median(sign_ours), statistics.median(sign_bare)
    sign_ratio = ours_s / bare_s

    three = prepared
    for position in range(len(NAMES)):
        three = ours(position, three)
    anchors = TrustAnchors(roots=[asn1_cert(ca_cert)], intermediates=[], crls=[crl_der], timestamp_roots=[tsa_root])
    report = verify_pdf(three, anchors)
    assert report.verdict == "valid" and len(report.signatures) == 3, report

    def plain_validation() -> None:
        context = ValidationContext(trust_roots=[asn1_cert(ca_cert)], crls=[asn1_crl.CertificateList.load(crl_der)],
                                    allow_fetching=False)
        for sig in PdfFileReader(io.BytesIO(three), strict=False).embedded_signatures:
            status = validate_pdf_signature(sig, context, ValidationContext(trust_roots=[tsa_root],
                                                                            allow_fetching=False))
            assert status.intact and status.valid

    verify_pdf(three, anchors), plain_validation()
    verify_ours, verify_bare = [], []
    for _ in range(ROUNDS):
        verify_ours.append(timed(lambda: verify_pdf(three, anchors)))
        verify_bare.append(timed(plain_validation))
    v_ours, v_bare = statistics.median(verify_ours), statistics.median(verify_bare)
    verify_ratio = v_ours / v_bare

    return [
        Figure(f"sign {PAGES}-page PDF, stamp + B-LT", "info", 1 / ours_s, 1 / bare_s, True, "sig/s"),
        Figure("  ms per signature (ours / pyHanko bare)", "info", f"{ours_s * 1000:.0f} / {bare_s * 1000:.0f} ms",
               None, True),
        Figure("signing time vs pyHanko, no stamp", f"<= {MAX_SIGN_RATIO:g}x", f"{sign_ratio:.2f}x", "1x",
               sign_ratio <= MAX_SIGN_RATIO),
        Figure("verify 3-signature PDF", "info", 1 / v_ours, 1 / v_bare, True, "files/s"),
        Figure("  ms per file (ours / pyHanko bare)", "info", f"{v_ours * 1000:.0f} / {v_bare * 1000:.0f} ms",
               None, True),
        Figure("verification time vs pyHanko bare", f"<= {MAX_VERIFY_RATIO:g}x", f"{verify_ratio:.2f}x", "1x",
               verify_ratio <= MAX_VERIFY_RATIO),
    ]
