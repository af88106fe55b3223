"""Revocations leave the shared KV bucket once nothing they refuse can still be presented.

A revocation refuses access tokens: a session's (`sid`) from its logout on, a user's (`user`,
its value the epoch seconds before which their tokens are refused) issued before a
deactivation or a password reset. Access tokens live ACCESS_TOKEN_SECONDS; refresh tokens are
checked against the sessions table, never against KV. A revocation older than that, with an
hour's margin for clocks, refuses nothing any more: the sweeper deletes it, later the delete
marker too, and every service's verifier forgets it, so neither the bucket nor the verifiers'
memory grow with every logout for the life of an installation.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from congress import model
from runtime.auth import REVOKED_PREFIX
from runtime.background import BackgroundLoop

log = structlog.get_logger()

SWEEP_EVERY = 3600.0
CLOCK_MARGIN = 3600.0
MARKERS_OLDER_THAN = 1800  # seconds: delete markers every live verifier has long since seen


def refuses_nothing(key: str, value: bytes, created_at: float | None, now: float) -> bool:
    """Whether the revocation stored at `key` can no longer refuse a token that has not expired."""
    kind = key[len(REVOKED_PREFIX) :].partition(".")[0]
    horizon = model.ACCESS_TOKEN_SECONDS + CLOCK_MARGIN
    if kind == "user":
        try:
            return now > float(value.decode() or "0") + horizon
        except ValueError:
            return False  # not ours to judge: keep it
    return created_at is not None and now > created_at + horizon


async def sweep(kv: Any, now: float | None = None) -> int:
    """Deletes the revocations that refuse nothing any more; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for entry in await revocations(kv):
        created_at = entry.created.timestamp() if entry.created is not None else None
        if entry.value is None or not refuses_nothing(entry.key, entry.value, created_at, now):
            continue
        try:
            await kv.delete(entry.key, last=entry.revision)  # a newer revocation written meanwhile stays
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            continue
        removed += 1
    await kv.purge_deletes(olderthan=MARKERS_OLDER_THAN)
    if removed:
        log.info("auth.revocations_swept", removed=removed)
    return removed


async def revocations(kv: Any) -> list[Any]:
    """The revocations now in the bucket, with when each was written (`KeyValue.get` does not
    say; `KeyValue.keys` would read every key: its filters match substrings, after the fact)."""
    watcher = await kv.watch(f"{REVOKED_PREFIX}>", ignore_deletes=True)
    found = []
    try:
        async for entry in watcher:
            if entry is None:  # the end of what is there now
                break
            found.append(entry)
    finally:
        await watcher.stop()
    return found


class RevocationSweeper(BackgroundLoop):
    """`sweep` at start and every SWEEP_EVERY seconds (every congress replica does it: deleting
    a deleted key changes nothing)."""

    task_name = "congress-revocation-sweeper"
    failure_event = "auth.revocation_sweep_failed"

    def __init__(self, kv: Any, every: float = SWEEP_EVERY) -> None:
        self.kv = kv
        self.every = every

    async def run_once(self) -> int:
        return await sweep(self.kv)

    async def pause(self) -> None:
        await asyncio.sleep(self.every)
