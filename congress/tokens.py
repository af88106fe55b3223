"""The congress service's token signing keys: ES256 key pairs, encrypted at rest, and JWT signing.

Private keys are stored encrypted with Fernet under a key derived (HKDF-SHA256) from
SECRET_KEY, so a copy of the database alone cannot mint tokens. Only the congress service
holds them; every service verifies with the public halves published in KV (runtime.auth).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

import jwt
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from runtime.auth import ALGORITHM

HKDF_INFO = b"paperless-congress token signing keys v1"


def fernet_for(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


@dataclass(frozen=True)
class NewKey:
    kid: str
    private_key_encrypted: bytes
    public_pem: str


def generate_key(secret_key: str) -> NewKey:
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return NewKey(kid=uuid.uuid4().hex, private_key_encrypted=fernet_for(secret_key).encrypt(private_pem),
                  public_pem=public_pem)


class Signer:
    """Signs access tokens with a stored key; decrypted private keys are kept per kid."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = fernet_for(secret_key)
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}

    def sign(self, claims: dict, kid: str, private_key_encrypted: bytes) -> str:
        key = self._private.get(kid)
        if key is None:
            pem = self._fernet.decrypt(private_key_encrypted)
            key = serialization.load_pem_private_key(pem, password=None)  # type: ignore[assignment]
            self._private[kid] = key  # type: ignore[assignment]
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
