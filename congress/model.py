"""Rules of the congress service: staff accounts, roles, passwords, sessions, token claims. No I/O."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from runtime.errors import Conflict, Invalid

ROLES = ("admin", "secretary", "signer", "archivist")

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256  # argon2 hashes anything, but a 1 MB "password" is an attack, not a password
ACCESS_TOKEN_SECONDS = 15 * 60
REFRESH_SECONDS = 12 * 60 * 60
KEY_PUBLISH_GRACE_SECONDS = ACCESS_TOKEN_SECONDS + 60
"""A retired signing key stays published this long: tokens it signed are valid until they expire."""

LOGIN_FAILURES_ALLOWED = 10
LOGIN_WINDOW_SECONDS = 15 * 60

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def normalise_username(raw: str) -> str:
    """Usernames are compared lowercased (and NFC), so `Lan.Nguyen` and `lan.nguyen` are one account."""
    return nfc(raw).lower()


def validate_username(raw: str) -> str:
    username = normalise_username(raw)
    if not _USERNAME.match(username):
        raise Invalid(
            "invalid_username",
            "The username must be 3 to 64 characters: letters a-z without accents, digits, dot, dash or underscore.",
        )
    return username


def validate_password(password: str) -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Invalid("weak_password", "The password must have at least {n} characters.", n=PASSWORD_MIN_LENGTH)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise Invalid("invalid_password", "The password is too long.")
    return password


def validate_full_name(raw: str) -> str:
    name = " ".join(nfc(raw).split())
    if not name or len(name) > 200:
        raise Invalid("invalid_full_name", "The full name must not be empty (at most 200 characters).")
    return name


def validate_email(raw: str) -> str:
    email = nfc(raw)
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        raise Invalid("invalid_email", "The email address is not valid.")
    return email


def validate_roles(roles: Iterable[str]) -> list[str]:
    chosen = []
    for role in roles:
        if role not in ROLES:
            raise Invalid("invalid_role", "Unknown role: {role}.", role=role)
        if role not in chosen:
            chosen.append(role)
    if not chosen:
        raise Invalid("no_role", "A user needs at least one role.")
    return sorted(chosen, key=ROLES.index)


def ensure_an_admin_remains(active_admin_ids: Sequence[str], user_id: str, still_admin: bool, still_active: bool) -> None:
    """Nobody could administer the installation again if its last active admin lost the role."""
    if user_id in active_admin_ids and len(active_admin_ids) == 1 and not (still_admin and still_active):
        raise Conflict("last_admin", "This is the last active administrator: appoint another one first.")


# -- sessions and tokens ---------------------------------------------------------------


def new_refresh_secret() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_hash(secret: str) -> str:
    """Only a hash of the refresh cookie is stored: a leaked database cannot resume sessions."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TokenSubject:
    user_id: str
    username: str
    full_name: str
    roles: list[str]


def access_claims(subject: TokenSubject, session_id: str, auth_time: datetime, now: datetime) -> dict:
    # iat keeps milliseconds: a revocation "before <time>" must not catch a token issued just after it.
    issued = round(now.timestamp(), 3)
    return {
        "iss": "congress",
        "sub": subject.user_id,
        "username": subject.username,
        "name": subject.full_name,
        "roles": list(subject.roles),
        "auth_time": int(auth_time.timestamp()),
        "iat": issued,
        "exp": int(issued) + ACCESS_TOKEN_SECONDS,
        "sid": session_id,
        "jti": uuid.uuid4().hex,
    }


def refresh_still_valid(created_at: datetime, ended_at: datetime | None, now: datetime) -> bool:
    return ended_at is None and now - created_at < timedelta(seconds=REFRESH_SECONDS)


@dataclass(frozen=True)
class PublishedKey:
    kid: str
    public_pem: str
    created_at: datetime
    retired_at: datetime | None


def keys_to_publish(keys: Iterable[PublishedKey], now: datetime) -> list[PublishedKey]:
    """The keys that may have signed a still-valid token: every current key, and retired ones
    young enough. Newest first, so the first is the one new tokens are signed with."""
    grace = timedelta(seconds=KEY_PUBLISH_GRACE_SECONDS)
    chosen = [k for k in keys if k.retired_at is None or now - k.retired_at < grace]
    return sorted(chosen, key=lambda k: (k.retired_at is None, k.created_at), reverse=True)


def login_limit_key(action: str, *parts: str) -> str:
    """Rate-limit key that names no person: a hash of who and where."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"{action}.{digest}"
