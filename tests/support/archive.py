"""Test helpers for the archive: a throwaway CA with a seal certificate, a detached CMS seal made
with pyHanko (as the signing service makes it), and a sealed package built from given files."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class TestCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    seal_key: ec.EllipticCurvePrivateKey
    seal_cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def _signer(self):  # type: ignore[no-untyped-def]
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        der_key = self.seal_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
        return signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(self.seal_cert.public_bytes(serialization.Encoding.DER)),
            signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
            cert_registry=SimpleCertificateStore.from_certs(
                [asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))]),
        )

    def sign_pdf(self, pdf: bytes) -> bytes:
        """The PDF with a PAdES signature of the seal certificate (as another installation signs)."""
        import io

        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
        return signers.sign_pdf(writer, meta, signer=self._signer()).getvalue()

    def seal(self, data: bytes) -> bytes:
        """A detached CMS signature over `data` (pyHanko, signed attributes), as DER."""
        signer = self._signer()
        info = asyncio.run(signer.async_sign_general_data(data, "sha256", detached=True))
        return info.dump()


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(organisation: str = "Hội Liên hiệp Phụ nữ phường Bến Nghé") -> TestCA:
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"CA {organisation}", organisation)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal_cert = (x509.CertificateBuilder().subject_name(_name(f"Con dấu {organisation}", organisation))
                 .issuer_name(name).public_key(seal_key.public_key())
                 .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                 .not_valid_after(now + dt.timedelta(days=3650))
                 .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                              data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                              crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                 .sign(key, hashes.SHA256()))
    return TestCA(key, cert, seal_key, seal_cert)


def sealed_package(tmp: Path, ca: TestCA, content, record_id: str = "00000000-0000-0000-0000-000000000001") -> Path:  # type: ignore[no-untyped-def]
    """Build a bag from `content` (documents.archive.package.BagContent) as a zip and seal it."""
    from documents.archive.package import add_seal, build_package

    now = dt.datetime.now(dt.UTC)
    built = build_package(tmp / "package.zip", content, record_id, now)
    add_seal(built.path, built.seal_manifest, ca.seal(built.seal_manifest), None, built.prefix, built.prefix_size)
    return built.path


def other_installation_package(tmp: Path, ca: TestCA, congress_id: str, title: str, organisation: str,
                               unit: str, people: list[str], pdf: bytes) -> Path:
    """A small sealed package as another installation makes it: one signed document, its roster."""
    import uuid

    from documents.archive.package import BagContent

    tmp.mkdir(parents=True, exist_ok=True)
    content = BagContent()
    content.add_json("data/record.json", {
        "record_id": str(uuid.uuid4()), "retain_until": "2046-03-08T00:00:00+00:00",
        "congress": {"id": congress_id, "title": title, "organisation": organisation, "unit": unit, "venue": "",
                     "starts_at": "2026-04-01T08:00:00+07:00"},
        "agenda": [], "counts": {"delegates": len(people), "present": len(people), "documents": 1}})
    content.add_json("data/roster.json", [{"full_name": p, "unit": "Chi hội 1", "delegate_type": ""} for p in people])
    content.add_json("data/documents.json", [{"id": "d1", "title": "Nghị quyết", "kind": "resolution",
                                              "file": "data/documents/d1/v2.pdf", "signatures": []}])
    (tmp / "doc.pdf").write_bytes(pdf)
    content.blobs["data/documents/d1/v2.pdf"] = tmp / "doc.pdf"
    content.files["data/events.jsonl"] = b""
    content.chain_head = "0" * 64
    content.bag_info = {"Source-Organization": organisation, "Congress-Id": congress_id}
    return sealed_package(tmp, ca, content)
