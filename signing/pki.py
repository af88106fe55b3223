"""The organisation's PKI: its CA, people's and the seal's certificates, the CRL (no I/O).

Keys are ECDSA P-256. Private keys at rest are PKCS#8 encrypted with a key derived from
SECRET_KEY (HKDF-SHA256), so a copied database alone does not give anyone a signature.
An issuing CA may be imported instead of the generated root: national CA providers hand out
subordinate CAs, never root keys; the imported chain then travels with every signature.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = timedelta(days=20 * 365)
PERSON_VALIDITY = timedelta(days=5 * 365)
SEAL_VALIDITY = timedelta(days=10 * 365)
CRL_VALIDITY = timedelta(days=7)
BACKDATE = timedelta(minutes=5)  # clocks of validators drift

PrivateKey = ec.EllipticCurvePrivateKey


class ImportError_(ValueError):
    """The CA material given to `import-ca` cannot be used."""


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


# --------------------------------------------------------------------------- keys at rest


class KeyProtector:
    """Encrypts private keys for storage with a key derived from the service's SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"paperless-congress",
                       info=b"signing.private-keys.v1").derive(secret_key.encode())
        self._password = base64.b64encode(derived)

    def seal(self, key: PrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._password),
        ).decode()

    def open(self, pem: str) -> PrivateKey:
        key = serialization.load_pem_private_key(pem.encode(), password=self._password)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("only EC keys are stored")
        return key


def common_name_attribute(text: str) -> x509.NameAttribute:
    """CN of at most 64 characters (RFC 5280 ub-common-name).

    cryptography counts the limit in UTF-8 bytes, which would refuse many Vietnamese full names
    (every accented letter is 2-3 bytes); the RFC counts characters, so we check that ourselves.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return x509.NameAttribute(NameOID.COMMON_NAME, nfc(text)[:64], _validate=False)


def new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


# --------------------------------------------------------------------------- certificates


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def from_pem(pem: str | bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def chain_from_pem(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode()) if pem.strip() else []


def common_name(cert: x509.Certificate) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # long Vietnamese names: see common_name_attribute
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def create_root_ca(organisation: str, now: datetime) -> tuple[PrivateKey, x509.Certificate]:
    key = new_key()
    name = x509.Name([
        common_name_attribute(f"{organisation} — CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, nfc(organisation)),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@dataclass(frozen=True)
class ImportedCa:
    key: PrivateKey
    cert: x509.Certificate
    parents: list[x509.Certificate]  # issuer of `cert` first, up to the root if given


def import_ca(data: bytes, password: bytes | None = None) -> ImportedCa:
    """An issuing CA from PKCS#12 or from PEM (key + certificate + optional parents)."""
    if data.lstrip().startswith(b"-----"):
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError) as exc:
            raise ImportError_(f"no usable private key in the PEM: {exc}") from exc
        certs = x509.load_pem_x509_certificates(data)
    else:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError as exc:
            raise ImportError_(f"not a PKCS#12 file or wrong password: {exc}") from exc
        certs = ([cert] if cert else []) + list(extra)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ImportError_("the CA key must be an EC (P-256) key")
    own = [c for c in certs if c.public_key().public_numbers() == key.public_key().public_numbers()]
    if not own:
        raise ImportError_("no certificate matches the private key")
    cert = own[0]
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound as exc:
        raise ImportError_("the certificate is not a CA certificate") from exc
    if not constraints.ca:
        raise ImportError_("the certificate is not a CA certificate")
    return ImportedCa(key=key, cert=cert, parents=_order_parents(cert, [c for c in certs if c is not cert]))


def _order_parents(cert: x509.Certificate, others: list[x509.Certificate]) -> list[x509.Certificate]:
    chain: list[x509.Certificate] = []
    current = cert
    while current.issuer != current.subject:
        issuer = next((c for c in others if c.subject == current.issuer and c not in chain), None)
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return chain


def _end_entity(subject: x509.Name, public_key: ec.EllipticCurvePublicKey, ca_key: PrivateKey, ca_cert: x509.Certificate, now: datetime,
                validity: timedelta, crl_url: str) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + validity, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # non-repudiation (content commitment): validators require it of document signatures
            x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)  # type: ignore[arg-type]
    )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None, crl_issuer=None)]),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256())


def issue_person_certificate(ca_key: PrivateKey, ca_cert: x509.Certificate, *, full_name: str, organisation: str,
                             username: str, now: datetime, crl_url: str = "",
                             public_key: ec.EllipticCurvePublicKey | None = None,
                             ) -> tuple[PrivateKey | None, x509.Certificate]:
    """A signing certificate in the person's full name (CN) and organisation (O).

    `public_key` is given when the key lives elsewhere (a PKCS#11 token): no private key is
    made or returned then.
    """
    key = None if public_key is not None else new_key()
    public_key = public_key if public_key is not None else key.public_key()  # type: ignore[union-attr]
    attributes = [common_name_attribute(full_name)]
    if organisation.strip():
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, nfc(organisation)))
    attributes += [x509.NameAttribute(NameOID.USER_ID, username), x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    return key, _end_entity(x509.Name(attributes), public_key, ca_key, ca_cert, now, PERSON_VALIDITY, crl_url)


def issue_seal_certificate(ca_key: PrivateKey, ca_cert: x509.Certificate, *, organisation: str, now: datetime,
                           crl_url: str = "") -> tuple[PrivateKey, x509.Certificate]:
    key = new_key()
    subject = x509.Name([
        common_name_attribute(f"Con dấu lưu trữ — {organisation}"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, nfc(organisation)),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
    ])
    return key, _end_entity(subject, key.public_key(), ca_key, ca_cert, now, SEAL_VALIDITY, crl_url)


# --------------------------------------------------------------------------- revocation


def build_crl(ca_key: PrivateKey, ca_cert: x509.Certificate, revoked: list[tuple[int, datetime]], number: int,
              now: datetime) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - BACKDATE)
        .next_update(now + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)  # type: ignore[arg-type]
    )
    for serial, revoked_at in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at).build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def crl_needs_refresh(crl: x509.CertificateRevocationList, now: datetime) -> bool:
    """Re-issue a day before the next update is due, so a served CRL is never stale."""
    next_update = crl.next_update_utc
    return next_update is None or next_update - now < timedelta(days=1)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
