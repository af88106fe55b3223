"""Fixed-window rate limits counted in the NATS KV bucket `ratelimits`, shared by every replica.

A counter is one KV entry `<key>.<window number>`; it is created with `create` (fails if it
exists) and increased with `update(last=revision)` (fails if another replica wrote in
between, and is then retried), so no increment is lost between replicas. The bucket drops
entries after an hour (contracts.streams), so windows are at most an hour long.

    allowed = await hit(js, "login.<hash>", limit=10, window_seconds=900)   # count one more
    allowed = await check(js, "login.<hash>", limit=10, window_seconds=900) # only look

Both answer True while the count is within the limit. `retry_after()` says how long a
refused caller should wait (the window's end).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import structlog
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from starlette.requests import Request

from contracts.streams import RATE_LIMIT_KV_BUCKET
from runtime.audit import client_ip
from runtime.errors import TooManyRequests

log = structlog.get_logger()

MAX_WINDOW_SECONDS = 3600
UPDATE_ATTEMPTS = 20

TOKEN_LOOKUP_FAILURES_ALLOWED = 30
TOKEN_LOOKUP_WINDOW_SECONDS = 60


def window_of(window_seconds: int, now: float | None = None) -> int:
    return int((time.time() if now is None else now) // window_seconds)


def retry_after(window_seconds: int, now: float | None = None) -> int:
    """Seconds until the current window ends (at least 1)."""
    now = time.time() if now is None else now
    return max(1, int((window_of(window_seconds, now) + 1) * window_seconds - now) + 1)


def hashed(*parts: str) -> str:
    """A key part that names nobody: who and where, hashed (KV keys are visible to operators)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


async def _bucket(js: Any) -> Any:
    return await js.key_value(RATE_LIMIT_KV_BUCKET)


def _entry_key(key: str, window_seconds: int) -> str:
    if not 0 < window_seconds <= MAX_WINDOW_SECONDS:
        raise ValueError(f"window must be 1..{MAX_WINDOW_SECONDS} s (the bucket keeps entries an hour)")
    return f"{key}.{window_of(window_seconds)}"


async def count(js: Any, key: str, window_seconds: int) -> int:
    kv = await _bucket(js)
    try:
        entry = await kv.get(_entry_key(key, window_seconds))
    except (KeyNotFoundError, KeyDeletedError):
        return 0
    return int(entry.value or b"0")


async def check(js: Any, key: str, limit: int, window_seconds: int) -> bool:
    """True while fewer than `limit` hits were counted in this window (nothing is counted)."""
    return await count(js, key, window_seconds) < limit


async def hit(js: Any, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit; True while the count (this one included) is within `limit`."""
    kv = await _bucket(js)
    entry_key = _entry_key(key, window_seconds)
    for _ in range(UPDATE_ATTEMPTS):
        try:
            entry = await kv.get(entry_key)
        except (KeyNotFoundError, KeyDeletedError):
            try:
                await kv.create(entry_key, b"1")
                return 1 <= limit
            except KeyWrongLastSequenceError:
                continue  # another replica created it first: read it again
        value = int(entry.value or b"0") + 1
        try:
            await kv.update(entry_key, str(value).encode(), last=entry.revision)
            return value <= limit
        except KeyWrongLastSequenceError:
            continue  # another replica counted in between: read again
    log.warning("ratelimit.contended", key=key)
    return False


# -- failed token lookups on the delegate pages (/q/, /d/, /c/) ------------------------


async def failed_token_lookup(request: Request, kind: str) -> None:
    """Call after a token or code lookup FAILED (never after a success: scans are not limited).

    Counts the failure for the client IP; past `TOKEN_LOOKUP_FAILURES_ALLOWED` a minute it
    raises TooManyRequests (429 with Retry-After) instead of letting the page answer 404, so
    guessing tokens is slowed down. A venue network behind one address only trips it after
    30 mistyped links a minute. When NATS is unreachable the failure is not counted (a
    delegate must not be locked out by an infrastructure hiccup).
    """
    runtime = request.app.state.runtime
    key = f"lookup.{kind}.{hashed(client_ip(request))}"
    try:
        allowed = await hit(runtime.js, key, TOKEN_LOOKUP_FAILURES_ALLOWED, TOKEN_LOOKUP_WINDOW_SECONDS)
    except Exception as exc:  # noqa: BLE001 - see docstring: fail open for delegates
        log.warning("ratelimit.unavailable", error=str(exc) or type(exc).__name__)
        return
    if not allowed:
        raise too_many(TOKEN_LOOKUP_WINDOW_SECONDS)


def too_many(window_seconds: int) -> TooManyRequests:
    return TooManyRequests(
        "too_many_attempts",
        "Too many attempts. Please wait a moment and try again.",
        headers={"Retry-After": str(retry_after(window_seconds))},
    )
