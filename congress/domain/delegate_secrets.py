"""A delegate's two secrets: the check-in code (badge QR, `/c/{code}`) and the personal-link
token (slip QR, `/d/{token}`).

Both are derived, not stored: HMAC-SHA256(key, "<kind>|<delegate id>|<generation>"),
128 bits, base64url (22 characters). The database keeps only their sha256, so a copy of
the database alone opens nothing, while the badges can still be printed again at any time
from the key and the delegate's generation. Reissuing a lost badge bumps the generation:
the new secrets get new hashes and the old ones stop matching anything.

The key is derived from SECRET_KEY for this one purpose; changing SECRET_KEY therefore
changes every delegate's secrets (reissue all and print again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

SECRET_BYTES = 16  # 128 bits ≥ the 80 bits asked for; short enough for a small QR code


def derivation_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"congress/delegate-secrets/v1", hashlib.sha256).digest()


def _derive(key: bytes, kind: str, delegate_id: str, generation: int) -> str:
    digest = hmac.new(key, f"{kind}|{delegate_id}|{generation}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:SECRET_BYTES]).rstrip(b"=").decode()


def secret_hash(secret: str) -> str:
    """What the database keeps and looks secrets up by (unique index)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class DelegateSecrets:
    checkin_code: str
    link_token: str

    @property
    def checkin_hash(self) -> str:
        return secret_hash(self.checkin_code)

    @property
    def link_hash(self) -> str:
        return secret_hash(self.link_token)


def secrets_for(key: bytes, delegate_id: str, generation: int) -> DelegateSecrets:
    return DelegateSecrets(
        checkin_code=_derive(key, "checkin", delegate_id, generation),
        link_token=_derive(key, "link", delegate_id, generation),
    )


def looks_like_secret(text: str) -> bool:
    """Cheap shape check before any lookup (a wrong shape is a failed lookup, never a query)."""
    return 16 <= len(text) <= 64 and all(c.isalnum() or c in "-_" for c in text)
