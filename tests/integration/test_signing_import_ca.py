"""`python -m signing.cli import-ca` with a subordinate CA, as a national provider would hand it
out (PEM with key + chain, or a password-protected PKCS#12): after the import the service issues
every new certificate under that CA, serves the chain, and its signatures validate with pyHanko
given only the provider's root as trust anchor."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from runtime.processes import NatsServer
from signing import pki
from signing.signer import asn1_cert
from tests.integration.signing_helpers import Harness, Person, start_signing, wait_for
from tests.support.system import database_env

ROOT_DIR = Path(__file__).resolve().parents[2]
SECRET = "import-ca-test-secret-0123456789abcdef"
NOW = datetime.now(UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Nhà cung cấp chứng thực thử nghiệm"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
        issuer_key: ec.EllipticCurvePrivateKey, path_length: int | None) -> x509.Certificate:
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder().subject_name(_name(subject))
            .issuer_name(issuer.subject if issuer else _name(subject)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


@pytest.fixture(scope="module")
def provider() -> dict:
    """A national root and the subordinate CA it issued to the organisation."""
    root_key, sub_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _ca("Gốc chứng thực quốc gia (thử nghiệm)", root_key, None, root_key, None)
    sub = _ca("Hội Liên hiệp Phụ nữ Việt Nam — CA cấp dưới", sub_key, root, root_key, 0)
    return {"root": root, "sub": sub, "sub_key": sub_key}


def _import(env: dict[str, str], path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "signing.cli", "import-ca", str(path), *extra],
                          cwd=ROOT_DIR, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("packaging", ["pem", "pkcs12"])
def test_imported_subordinate_ca_issues_certificates_that_validate_to_its_root(
        packaging: str, provider: dict, tmp_path: Path) -> None:
    root, sub, sub_key = provider["root"], provider["sub"], provider["sub_key"]
    env = {"DATA_DIR": str(tmp_path / "var"), "ENVIRONMENT": "development", "SECRET_KEY": SECRET,
           "ORGANISATION_NAME": "Hội Liên hiệp Phụ nữ Việt Nam", **database_env("signing", fresh=True)}
    if packaging == "pem":
        bundle = tmp_path / "ca.pem"
        bundle.write_bytes(sub_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption())
                           + sub.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM))
        options: tuple[str, ...] = ()
    else:
        bundle = tmp_path / "ca.p12"
        bundle.write_bytes(pkcs12.serialize_key_and_certificates(
            b"org-ca", sub_key, sub, [root], serialization.BestAvailableEncryption(b"mat-khau-p12")))
        assert _import(env, bundle).returncode == 1  # encrypted, no password given: refused, nothing stored
        env["CA_PASSWORD"] = "mat-khau-p12"
        options = ("--password-env", "CA_PASSWORD")
    done = _import(env, bundle, *options)
    assert done.returncode == 0, done.stdout + done.stderr
    assert pki.fingerprint(sub) in done.stdout
    again = _import(env, bundle, *options)
    assert again.returncode == 1 and "--replace" in again.stderr  # never silently replaced

    server = NatsServer(tmp_path / "nats", log_path=tmp_path / "nats.log").start()
    service = None
    try:
        service = start_signing(tmp_path / "var", server, {k: v for k, v in env.items() if k != "DATA_DIR"})
        chain = pki.chain_from_pem(httpx.get(f"{service.url}/api/signing/ca.pem").text)
        assert chain == [sub, root], "the service serves the imported chain, not a generated root"

        h = Harness(server, service, tmp_path)
        h.publish_token_key()
        congress = str(uuid.uuid4())
        secretary = Person("thuky.nga", "Vũ Thị Nga", ["secretary"])
        chair = Person("chutich.yen", "Lương Thị Yến", ["signer"])
        h.add_people(congress, secretary, chair)
        document_id, _sha, _ = h.upload(congress, "Nghị quyết về công tác cán bộ")
        body = {"document_id": document_id, "version": 1, "signers": [{"username": chair.username, "role": "signer"}]}
        with h.client(secretary) as sec:
            req = wait_for(lambda: (r := sec.post("/api/signing/requests", json=body)).status_code == 201 and r).json()
        with h.client(chair) as c:
            signed = c.post(f"/api/signing/requests/{req['id']}/sign")
        assert signed.status_code == 200, signed.text
        data = h.get_blob(signed.json()["current_sha256"])
        crl = asn1_crl.CertificateList.load(httpx.get(f"{service.url}/api/signing/crl").content)
    finally:
        if service:
            service.stop()
        server.stop()

    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    assert sig.signer_cert.issuer == asn1_cert(sub).subject
    assert sig.signer_cert.subject.native["common_name"] == chair.full_name
    # the provider's root is the only anchor; the subordinate CA comes from the signature itself
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[asn1_cert(root)], crls=[crl],
                                                           allow_fetching=False))
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    other_key = ec.generate_private_key(ec.SECP256R1())
    stranger = _ca("Gốc khác", other_key, None, other_key, None)
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[asn1_cert(stranger)], crls=[crl],
                                                           allow_fetching=False))
    assert status.intact and not status.trusted
