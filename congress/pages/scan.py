"""The scan page `/q/{token}` and its file `/q/{token}/file`: the hot path.

A scan costs no database query when the publication was seen in the last few seconds: the
publication (joined with its congress, agenda item and signature) and the rendered page
live in a small in-process cache. The cache forgets a congress's entries as soon as this
replica learns of a publish, revoke, congress or agenda change (from its own writes and
from the live feed of the CONGRESS stream, congress/live.py), and every entry expires after
`TTL_SECONDS` anyway, which bounds how stale a signature status can be on another replica.

When a poster goes up, hundreds of phones miss the cache at the same moment: concurrent misses
of one key share one query (single flight), and a result loaded across a forget is not kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from congress.db import agenda_items, congresses, delegates, publications, signatures
from congress.domain.delegate_secrets import looks_like_secret, secret_hash
from runtime.db import Database

TTL_SECONDS = 10.0
MAX_ENTRIES = 20_000

T = TypeVar("T")


@dataclass
class ScanEntry:
    publication_id: str
    token: str
    congress_id: str
    document_id: str
    title: str
    kind: str
    content_type: str
    sha256: str
    audience: str
    state: str
    agenda_title: str
    congress_title: str
    verification_code: str | None
    loaded_at: float
    pages: dict[tuple[str, bool], bytes] = field(default_factory=dict)  # (language, delegate?) -> HTML

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'


@dataclass(frozen=True)
class OtherDocument:
    token: str
    title: str
    agenda_title: str
    audience: str
    agenda_item_id: str | None = None


@dataclass(frozen=True)
class DelegateCookie:
    delegate_id: str
    congress_id: str


def _signature_code():  # type: ignore[no-untyped-def]
    return (
        select(signatures.c.verification_code)
        .where(signatures.c.signed_sha256 == publications.c.sha256)
        .order_by(signatures.c.signed_at.desc())
        .limit(1)
        .scalar_subquery()
    )


class ScanCache:
    def __init__(self, db: Database, ttl: float = TTL_SECONDS) -> None:
        self.db = db
        self.ttl = ttl
        self._entries: dict[str, ScanEntry] = {}
        self._others: dict[str, tuple[float, list[OtherDocument]]] = {}
        self._delegates: dict[str, tuple[float, DelegateCookie | None]] = {}
        self._loading: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._epoch = 0  # bumped by every forget: a load that started before it is not kept

    def forget_congress(self, congress_id: str) -> None:
        for token in [t for t, e in self._entries.items() if e.congress_id == congress_id]:
            del self._entries[token]
        self._others.pop(congress_id, None)
        self._forget_loads()

    def forget_delegates(self) -> None:
        self._delegates.clear()
        self._forget_loads()

    def _forget_loads(self) -> None:
        self._epoch += 1
        self._loading.clear()  # later callers start a fresh load; current waiters still get theirs

    async def _single_flight(self, key: tuple[str, str], load: Callable[[], Awaitable[T]],
                             keep: Callable[[T], None]) -> T:
        """One query for every concurrent miss of `key`; `keep` stores the result unless a forget
        happened while it was loading."""
        pending = self._loading.get(key)
        if pending is None:
            epoch = self._epoch

            async def load_and_keep() -> T:
                found = await load()
                if self._epoch == epoch:
                    keep(found)
                return found

            pending = self._loading[key] = asyncio.ensure_future(load_and_keep())
            pending.add_done_callback(lambda done: self._loading.pop(key, None) if self._loading.get(key) is done
                                      else None)
        return await asyncio.shield(pending)

    def _fresh(self, loaded_at: float) -> bool:
        return time.monotonic() - loaded_at < self.ttl

    async def entry(self, token: str) -> ScanEntry | None:
        """The publication behind `token` (active or revoked), or None when no such token exists."""
        cached = self._entries.get(token)
        if cached is not None and self._fresh(cached.loaded_at):
            return cached
        if not looks_like_secret(token):
            return None
        return await self._single_flight(("entry", token), lambda: self._load_entry(token), self._keep_entry)

    def _keep_entry(self, entry: ScanEntry | None) -> None:
        if entry is None:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[entry.token] = entry

    async def _load_entry(self, token: str) -> ScanEntry | None:
        async with self.db.session() as session:
            row = (await session.execute(
                select(publications.c.id, publications.c.congress_id, publications.c.document_id, publications.c.title,
                       publications.c.kind, publications.c.content_type, publications.c.sha256,
                       publications.c.audience, publications.c.state, agenda_items.c.title.label("agenda_title"),
                       congresses.c.title.label("congress_title"), _signature_code().label("verification_code"))
                .join(congresses, congresses.c.id == publications.c.congress_id)
                .outerjoin(agenda_items, agenda_items.c.id == publications.c.agenda_item_id)
                .where(publications.c.token == token)
            )).first()
        if row is None:
            return None
        return ScanEntry(row.id, token, row.congress_id, row.document_id, row.title, row.kind, row.content_type,
                         row.sha256, row.audience, row.state, row.agenda_title or "", row.congress_title,
                         row.verification_code, time.monotonic())

    async def others(self, congress_id: str) -> list[OtherDocument]:
        """Active publications of the congress, in agenda order (items without one last)."""
        cached = self._others.get(congress_id)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]

        async def load() -> list[OtherDocument]:
            async with self.db.session() as session:
                return await published_in(session, congress_id)

        def keep(found: list[OtherDocument]) -> None:
            self._others[congress_id] = (time.monotonic(), found)

        return await self._single_flight(("others", congress_id), load, keep)

    async def delegate(self, cookie: str | None) -> DelegateCookie | None:
        """The delegate whose personal-link token is in the cookie (None: no cookie, or a stale one)."""
        if not cookie or not looks_like_secret(cookie):
            return None
        cached = self._delegates.get(cookie)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]

        async def load() -> DelegateCookie | None:
            async with self.db.session() as session:
                row = (await session.execute(select(delegates.c.id, delegates.c.congress_id).where(
                    delegates.c.link_hash == secret_hash(cookie)))).first()
            return DelegateCookie(row.id, row.congress_id) if row else None

        def keep(found: DelegateCookie | None) -> None:
            if len(self._delegates) >= MAX_ENTRIES:
                self._delegates.clear()
            self._delegates[cookie] = (time.monotonic(), found)

        return await self._single_flight(("delegate", cookie), load, keep)


async def published_in(session: AsyncSession, congress_id: str) -> list[OtherDocument]:
    rows = (await session.execute(
        select(publications.c.token, publications.c.title, publications.c.audience, publications.c.agenda_item_id,
               agenda_items.c.title.label("agenda_title"), agenda_items.c.position)
        .outerjoin(agenda_items, agenda_items.c.id == publications.c.agenda_item_id)
        .where(publications.c.congress_id == congress_id, publications.c.state == "active")
        .order_by(publications.c.published_at)
    )).all()
    ordered = sorted(rows, key=lambda r: (r.position is None, r.position or 0))
    return [OtherDocument(r.token, r.title, r.agenda_title or "", r.audience, r.agenda_item_id if r.position is not None else None)
            for r in ordered]


def visible(documents: list[OtherDocument], is_delegate: bool, except_token: str = "") -> list[OtherDocument]:
    return [d for d in documents if d.token != except_token and (is_delegate or d.audience == "public")]


def page_variables(entry: ScanEntry) -> dict[str, Any]:
    return {"doc": entry, "token": entry.token}
