"""Where a signature's private key operation happens: one interface, two implementations.

- `BuiltinKeySigner`: the key issued by the organisation CA, stored encrypted in the database.
- `Pkcs11Signer`: the key stays on a PKCS#11 token (a USB token or an HSM; SoftHSM2 in tests);
  only its certificate, issued by the organisation CA for the token's public key, is stored.

Both hand pyHanko a `pyhanko.sign.signers.Signer`, which does the CMS work (PAdES signatures
and detached seals alike). A remote-signing provider (CSC API) would be a third class with
the same two members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, unquote

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore


def asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class DocumentSigner(Protocol):
    certificate: x509.Certificate

    def pyhanko_signer(self) -> signers.Signer: ...

    def close(self) -> None: ...


@dataclass
class BuiltinKeySigner:
    key: Any  # cryptography EC private key
    certificate: x509.Certificate
    chain: list[x509.Certificate]  # issuing CA first, up to the root

    def pyhanko_signer(self) -> signers.Signer:
        der = self.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        return signers.SimpleSigner(
            signing_cert=asn1_cert(self.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs([asn1_cert(c) for c in self.chain]),
        )

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Pkcs11KeyRef:
    """Where a token key lives, stored as `pkcs11:token=<label>;object=<key label>` (RFC 7512 style)."""

    token_label: str
    key_label: str

    def uri(self) -> str:
        return f"pkcs11:token={quote(self.token_label)};object={quote(self.key_label)}"

    @classmethod
    def parse(cls, uri: str) -> "Pkcs11KeyRef":
        if not uri.startswith("pkcs11:"):
            raise ValueError("not a pkcs11 URI")
        parts = dict(p.split("=", 1) for p in uri[len("pkcs11:"):].split(";") if "=" in p)
        return cls(token_label=unquote(parts["token"]), key_label=unquote(parts["object"]))


@dataclass
class Pkcs11Signer:
    module_path: str
    ref: Pkcs11KeyRef
    pin: str
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    _session: Any = field(default=None, init=False)

    def pyhanko_signer(self) -> signers.Signer:
        from pyhanko.sign.pkcs11 import PKCS11Signer, TokenCriteria, open_pkcs11_session

        if self._session is None:
            self._session = open_pkcs11_session(
                self.module_path, token_criteria=TokenCriteria(label=self.ref.token_label), user_pin=self.pin
            )
        # The certificate comes from our database, not from the token: the token holds the key only.
        return PKCS11Signer(
            self._session,
            key_label=self.ref.key_label,
            signing_cert=asn1_cert(self.certificate),
            ca_chain=[asn1_cert(c) for c in self.chain],
            other_certs_to_pull=(),
            # many tokens (SoftHSM2 too) lack hash-then-sign ECDSA: pyHanko hashes, the token signs
            use_raw_mechanism=True,
        )

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def token_public_key(module_path: str, ref: Pkcs11KeyRef, pin: str) -> Any:
    """The public half of a token key (to issue its certificate), as a cryptography key."""
    import pkcs11
    from pkcs11.util.ec import encode_ec_public_key
    from pyhanko.sign.pkcs11 import TokenCriteria, open_pkcs11_session

    session = open_pkcs11_session(module_path, token_criteria=TokenCriteria(label=ref.token_label), user_pin=pin)
    try:
        public = session.get_key(object_class=pkcs11.ObjectClass.PUBLIC_KEY, label=ref.key_label)
        der = encode_ec_public_key(public)
    finally:
        session.close()
    return serialization.load_der_public_key(der)
