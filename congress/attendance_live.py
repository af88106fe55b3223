"""Live attendance for secretaries' dashboards: every replica follows the CONGRESS stream with its
own ephemeral consumer (the same mechanism as the delegate homes, congress/live.py) and pushes
the new numbers to the dashboards it holds.

One snapshot (attendance, paper saved, the chart) is computed per congress and change, however
many dashboards watch it; a slow dashboard skips to the newest snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg

from congress.live import LiveFeed

# Events after which a congress's attendance, quorum or paper figures may have changed.
ATTENDANCE_CHANGING = {
    "congress.delegate.checked_in",
    "congress.delegate.checkin_undone",
    "congress.delegate.registered",
    "congress.delegate.updated",
    "congress.delegate.removed",
    "congress.congress.updated",
    "congress.congress.closed",
    "congress.document.published",
    "congress.document.revoked",
    "congress.document.viewed",
}


class AttendanceFeed(LiveFeed):
    async def _message(self, msg: Msg) -> None:
        headers = msg.headers or {}
        subject = headers.get("Event-Type") or msg.subject
        congress_id = headers.get("Congress-Id")
        if congress_id and subject in ATTENDANCE_CHANGING:
            self.changed(congress_id)


Compute = Callable[[str], Awaitable[dict[str, Any]]]


class Snapshots:
    """The newest snapshot of each watched congress, computed once per change of the feed, and at
    most every `min_interval` seconds: at the door's peak (dozens of check-ins a second) one
    query per burst, not one per check-in, still well within the second a dashboard may lag."""

    def __init__(self, feed: LiveFeed, compute: Compute, min_interval: float = 0.25) -> None:
        self.feed = feed
        self.compute = compute
        self.min_interval = min_interval
        self._cache: dict[str, tuple[int, asyncio.Future[dict[str, Any]]]] = {}
        self._computed_at: dict[str, float] = {}

    async def get(self, congress_id: str) -> dict[str, Any]:
        generation = self.feed.generation(congress_id)
        cached = self._cache.get(congress_id)
        if cached is not None and cached[0] == generation:
            return await asyncio.shield(cached[1])
        loop = asyncio.get_running_loop()
        wait = self._computed_at.get(congress_id, 0.0) + self.min_interval - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)  # changes arriving meanwhile are taken in by this snapshot
            return await self.get(congress_id)
        self._computed_at[congress_id] = loop.time()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._cache[congress_id] = (generation, future)
        try:
            future.set_result(await self.compute(congress_id))
        except BaseException as exc:
            self._cache.pop(congress_id, None)
            future.set_exception(exc)
            future.exception()
            raise
        if not self.feed.listeners(congress_id):
            self._cache.pop(congress_id, None)  # nobody watches: do not keep it
            self._computed_at.pop(congress_id, None)
        return future.result()
