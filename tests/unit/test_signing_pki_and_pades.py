"""The signing core without I/O: certificates, key protection, ordering rules, PAdES + validation."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from reportlab.pdfgen import canvas

from runtime.errors import Conflict, Invalid, NotFound
from signing import model, pades, pki, stamp
from signing.signer import BuiltinKeySigner, asn1_cert
from signing.validation import TrustAnchors, verify_pdf

ORG = "Hội Liên hiệp Phụ nữ Việt Nam"
NOW = datetime.now(UTC)


def _pdf() -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out)
    for n in range(2):
        c.drawString(72, 700, f"page {n}")
        c.showPage()
    c.save()
    return out.getvalue()


@pytest.fixture(scope="module")
def org():  # type: ignore[no-untyped-def]
    key, cert = pki.create_root_ca(ORG, NOW)
    return key, cert


def _person(org, name: str, username: str):  # type: ignore[no-untyped-def]
    # the CRL distribution point is what makes validators look the certificate up in the CRL
    return pki.issue_person_certificate(org[0], org[1], full_name=name, organisation=ORG, username=username, now=NOW,
                                        crl_url="https://example.vn/api/signing/crl")


def _anchors(org, revoked=()) -> TrustAnchors:  # type: ignore[no-untyped-def]
    # a later CRL has a higher number, as the service issues them
    crl = pki.build_crl(org[0], org[1], list(revoked), 2 + len(revoked), datetime.now(UTC))
    return TrustAnchors([asn1_cert(org[1])], [], [crl.public_bytes(serialization.Encoding.DER)])


def _sign(data: bytes, position: int, key, cert, org) -> bytes:  # type: ignore[no-untyped-def]
    evidence = pades.Evidence([asn1_cert(org[1])], [], _anchors(org).crls)
    art = stamp.stamp_pdf(stamp.StampText(pki.common_name(cert), "signer", ORG, datetime.now(UTC), "ABCDE-12345",
                                          "https://example.vn/verify/ABCDE-12345"))
    return asyncio.run(pades.sign_pdf(data, position, BuiltinKeySigner(key, cert, [org[1]]), art, evidence))


def test_person_certificate_names_the_person_and_allows_non_repudiation(org) -> None:  # type: ignore[no-untyped-def]
    long_name = "Tôn Nữ Thị Phương Thảo Nguyễn Hoàng Bảo Ngọc Quỳnh"  # > 64 UTF-8 bytes, < 64 characters
    _key, cert = _person(org, long_name, "thao")
    assert pki.common_name(cert) == long_name
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert.issuer == org[1].subject


def test_keys_at_rest_open_only_with_the_same_secret() -> None:
    key = pki.new_key()
    sealed = pki.KeyProtector("a" * 40).seal(key)
    assert "ENCRYPTED PRIVATE KEY" in sealed
    assert pki.KeyProtector("a" * 40).open(sealed).private_numbers() == key.private_numbers()
    with pytest.raises(ValueError):
        pki.KeyProtector("b" * 40).open(sealed)


def test_imported_subordinate_ca_keeps_its_parents(org) -> None:  # type: ignore[no-untyped-def]
    sub_key = pki.new_key()
    sub = (x509.CertificateBuilder().subject_name(x509.Name([pki.common_name_attribute("Sub CA")]))
           .issuer_name(org[1].subject).public_key(sub_key.public_key()).serial_number(7)
           .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=900))
           .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
           .sign(org[0], pki.hashes.SHA256()))
    pem = sub_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()) + sub.public_bytes(serialization.Encoding.PEM) \
        + org[1].public_bytes(serialization.Encoding.PEM)
    imported = pki.import_ca(pem)
    assert imported.cert == sub and imported.parents == [org[1]]
    with pytest.raises(pki.ImportError_):
        pki.import_ca(org[1].public_bytes(serialization.Encoding.PEM))


def test_turns_follow_the_order() -> None:
    view = model.RequestView("r", "open", "u0", [model.Slot(0, "a", "approver", "signed"),
                                                   model.Slot(1, "b", "signer", "waiting"),
                                                   model.Slot(2, "c", "signer", "waiting")])
    assert model.turn_of(view, "b").position == 1
    with pytest.raises(Conflict) as not_yet:
        model.turn_of(view, "c")
    assert not_yet.value.code == "not_your_turn"
    with pytest.raises(Conflict):
        model.turn_of(view, "a")
    with pytest.raises(NotFound):
        model.turn_of(view, "z")
    closed = model.RequestView("r", "cancelled", "u0", view.slots)
    with pytest.raises(Conflict) as cancelled:
        model.turn_of(closed, "b")
    assert cancelled.value.code == "request_cancelled"
    with pytest.raises(Invalid):
        model.validate_signers([("a", "signer"), ("a", "approver")], 12)


def test_codes_survive_sloppy_typing() -> None:
    code = model.new_verification_code()
    assert len(code) == 11 and code[5] == "-"
    assert model.normalise_code(code.lower().replace("-", "")) == code
    assert model.normalise_code("o1ilo-abcde") == "01110-ABCDE"


def test_signatures_stack_validate_and_a_flipped_byte_breaks_them(org) -> None:  # type: ignore[no-untyped-def]
    original = _pdf()
    prepared = pades.prepare_for_signing(original, "Nghị quyết", [stamp.SlotLabel("Người Một", "approver"),
                                                                   stamp.SlotLabel("Người Hai", "signer")])
    assert prepared.startswith(original)
    k1, c1 = _person(org, "Nguyễn Thị Một", "mot")
    k2, c2 = _person(org, "Trần Văn Hai", "hai")
    signed = _sign(_sign(prepared, 0, k1, c1, org), 1, k2, c2, org)
    report = verify_pdf(signed, _anchors(org))
    assert report.verdict == "valid" and [s.signer for s in report.signatures] == ["Nguyễn Thị Một", "Trần Văn Hai"]
    assert all(s.time_is_claimed for s in report.signatures)
    flipped = bytearray(signed)
    flipped[len(original) // 2] ^= 0x01
    assert verify_pdf(bytes(flipped), _anchors(org)).verdict == "invalid"
    assert verify_pdf(b"not a pdf", _anchors(org)).verdict == "unreadable"
    assert verify_pdf(original, _anchors(org)).verdict == "unsigned"

    other_key, other_ca = pki.create_root_ca("Tổ chức khác", NOW)
    assert verify_pdf(signed, _anchors((other_key, other_ca))).verdict == "untrusted"


def test_a_revoked_signers_later_signature_is_not_trusted(org) -> None:  # type: ignore[no-untyped-def]
    prepared = pades.prepare_for_signing(_pdf(), "Biên bản", [stamp.SlotLabel("A", "signer"),
                                                              stamp.SlotLabel("B", "signer")])
    k1, c1 = _person(org, "Lê Văn Trước", "truoc")
    k2, c2 = _person(org, "Phạm Thị Sau", "sau")
    first = _sign(prepared, 0, k1, c1, org)
    revoked_at = datetime.now(UTC)
    # c1 is revoked after it signed, c2 before its signature: only the first stays trusted
    later = _sign(first, 1, k2, c2, org)
    revocations = [(c1.serial_number, datetime.now(UTC) + timedelta(seconds=5)),
                   (c2.serial_number, revoked_at - timedelta(seconds=3))]
    report = verify_pdf(later, _anchors(org, revocations))
    assert [(s.signer, s.trusted, s.revoked) for s in report.signatures] == [
        ("Lê Văn Trước", True, False), ("Phạm Thị Sau", False, True)]
    assert report.verdict == "untrusted"
