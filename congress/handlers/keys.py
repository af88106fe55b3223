"""Token signing keys: the first key, rotation, and publishing the public keys to KV."""

from __future__ import annotations

import json
from typing import Any

import structlog
from sqlalchemy import RowMapping, select

from congress import model
from congress.db import signing_keys
from congress.tokens import NewKey, generate_key
from runtime.auth import KEYS_KV_KEY, TokenVerifier
from runtime.db import Database, UnitOfWork, utcnow

log = structlog.get_logger()


async def ensure_signing_key(db: Database, secret_key: str) -> None:
    """At start: make sure a current key exists (replicas starting together may each add one;
    the newest is then current and the other is still published, so nothing breaks)."""
    async with db.uow() as uow:
        found = await uow.session.scalar(select(signing_keys.c.kid).where(signing_keys.c.retired_at.is_(None)).limit(1))
        if found is None:
            await _insert(uow, generate_key(secret_key))
            log.info("auth.signing_key_created")


async def current_key(session: Any) -> RowMapping:
    """The key new tokens are signed with: the newest one not retired. Read on every issue, so a
    rotation done by another replica is followed at once."""
    row = (
        await session.execute(
            select(signing_keys)
            .where(signing_keys.c.retired_at.is_(None))
            .order_by(signing_keys.c.created_at.desc(), signing_keys.c.kid.desc())
            .limit(1)
        )
    ).mappings().first()
    if row is None:
        raise RuntimeError("no token signing key: the service did not finish starting")
    return row


async def keys_document(session: Any, extra: NewKey | None = None) -> dict[str, Any]:
    now = utcnow()
    rows = (await session.execute(select(signing_keys.c.kid, signing_keys.c.public_pem, signing_keys.c.created_at,
                                         signing_keys.c.retired_at))).mappings().all()
    keys = [model.PublishedKey(r["kid"], r["public_pem"], r["created_at"], r["retired_at"]) for r in rows]
    if extra is not None:
        keys.append(model.PublishedKey(extra.kid, extra.public_pem, now, None))
    return {"keys": [{"kid": k.kid, "public_pem": k.public_pem} for k in model.keys_to_publish(keys, now)]}


async def publish_keys(db: Database, kv: Any, verifier: TokenVerifier | None = None,
                       extra: NewKey | None = None) -> dict[str, Any]:
    """Put the public keys in KV (`shared` / `auth.keys`); every service's verifier follows it.
    This process's own verifier is also told at once, not when the KV watch catches up."""
    async with db.session() as session:
        document = await keys_document(session, extra)
    await kv.put(KEYS_KV_KEY, json.dumps(document).encode())
    if verifier is not None:
        verifier.set_keys(document)
    return document


async def rotate_keys(db: Database, kv: Any, secret_key: str, audit: Any = None,
                      verifier: TokenVerifier | None = None) -> str:
    """A new key becomes current; the old ones retire (still published until their tokens expire).

    The new public key is published before any token is signed with it, so no service ever
    sees a token whose key it does not know yet. `audit(uow)` records who asked.
    """
    new = generate_key(secret_key)
    await publish_keys(db, kv, verifier, extra=new)
    async with db.uow() as uow:
        await uow.session.execute(
            signing_keys.update().where(signing_keys.c.retired_at.is_(None)).values(retired_at=utcnow())
        )
        await _insert(uow, new)
        if audit is not None:
            await audit(uow, new.kid)
    await publish_keys(db, kv, verifier)
    log.info("auth.signing_key_rotated", kid=new.kid)
    return new.kid


async def _insert(uow: UnitOfWork, key: NewKey) -> None:
    await uow.session.execute(
        signing_keys.insert().values(kid=key.kid, private_key_encrypted=key.private_key_encrypted,
                                     public_pem=key.public_pem, created_at=utcnow(), retired_at=None)
    )
