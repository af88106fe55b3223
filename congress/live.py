"""Live updates for delegate homes: every replica follows the CONGRESS stream with its own
ephemeral (ordered, non-durable) consumer and pushes to the browsers it holds.

Durable consumers are shared by a service's replicas, so each event reaches one of them;
a browser's server-sent-events connection lives in exactly one replica, which therefore
needs every event itself. The consumer starts at new messages (a replica that restarts has
no clients to catch up) and reads headers only: the congress id and the event type say
enough to forget cached pages and tell the congress's open pages to refresh their list.

The replica that made a change tells its own pages at once (`changed(..., applied=events)`) and
then skips those events when they come back on the feed: 2,000 open homes are sent the new list
once, not twice.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable

import nats.js.api as jsapi
import structlog
from nats.aio.msg import Msg

from contracts.base import Event
from contracts.streams import SERVICE_STREAMS

log = structlog.get_logger()

REMEMBERED_EVENTS = 1000  # own events not yet back from the feed (one per publish or revoke)

# Events after which the documents shown to a congress's delegates may have changed.
REFRESHING = {
    "congress.document.published",
    "congress.document.revoked",
    "congress.agenda.changed",
    "congress.congress.updated",
    "congress.congress.opened",
    "congress.congress.closed",
}


class LiveFeed:
    """Listeners per congress; `changed(congress_id)` wakes them all."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Queue[int]]] = defaultdict(set)
        self._generation: dict[str, int] = defaultdict(int)
        self._on_change: list[Callable[[str], None]] = []
        self._subscription = None
        self._applied: OrderedDict[str, None] = OrderedDict()  # ids of events already applied here

    def on_change(self, callback: Callable[[str], None]) -> None:
        self._on_change.append(callback)

    def generation(self, congress_id: str) -> int:
        return self._generation[congress_id]

    def listen(self, congress_id: str) -> asyncio.Queue[int]:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        self._listeners[congress_id].add(queue)
        return queue

    def leave(self, congress_id: str, queue: asyncio.Queue[int]) -> None:
        listeners = self._listeners.get(congress_id)
        if listeners is not None:
            listeners.discard(queue)
            if not listeners:
                del self._listeners[congress_id]

    def listeners(self, congress_id: str) -> int:
        return len(self._listeners.get(congress_id, ()))

    def changed(self, congress_id: str, applied: Iterable[Event] = ()) -> None:
        """Wake the congress's listeners; `applied`: the events of this change (skipped when they
        arrive on the feed)."""
        for event in applied:
            if event.subject in REFRESHING:
                self._applied[str(event.event_id)] = None
        while len(self._applied) > REMEMBERED_EVENTS:
            self._applied.popitem(last=False)
        self._generation[congress_id] += 1
        generation = self._generation[congress_id]
        for callback in self._on_change:
            callback(congress_id)
        for queue in list(self._listeners.get(congress_id, ())):
            if queue.full():  # a slow client: it only needs the newest state, once
                queue.get_nowait()
            queue.put_nowait(generation)

    async def follow(self, js) -> None:  # type: ignore[no-untyped-def]
        stream = SERVICE_STREAMS["congress"]
        self._subscription = await js.subscribe(
            stream.subjects[0],
            stream=stream.name,
            cb=self._message,
            ordered_consumer=True,
            deliver_policy=jsapi.DeliverPolicy.NEW,
            headers_only=True,
        )
        log.info("live.following", stream=stream.name)

    async def _message(self, msg: Msg) -> None:
        headers = msg.headers or {}
        if self._applied.pop(headers.get("Nats-Msg-Id", ""), False) is None:
            return  # this replica made the change and has told its pages already
        subject = headers.get("Event-Type") or msg.subject
        congress_id = headers.get("Congress-Id")
        if congress_id and subject in REFRESHING:
            self.changed(congress_id)

    async def stop(self) -> None:
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except Exception:  # noqa: BLE001 - connection already gone
                pass
