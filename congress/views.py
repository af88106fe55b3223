"""Views of published documents, counted off the request path.

A scan only bumps an in-memory counter. Every few seconds the counts are written to the
database in one transaction (total views, and the delegates who viewed: one row per
publication and delegate, so "unique delegates" stays exact across replicas and restarts)
together with one aggregated `congress.document.viewed` event per publication and window.
A crash loses at most the last window's counts, never a page.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import func, select

import contracts.congress as cc
from congress.db import publication_viewers, publications
from runtime.background import BackgroundLoop
from runtime.db import Database, utcnow

log = structlog.get_logger()

FLUSH_SECONDS = 3.0


@dataclass
class _Window:
    congress_id: str
    document_id: str
    views: int = 0
    delegates: set[str] = field(default_factory=set)


class ViewCounter(BackgroundLoop):
    task_name = "congress-view-counter"
    failure_event = "views.flush_failed"  # the counts are kept and written next time

    def __init__(self, db: Database, every: float = FLUSH_SECONDS) -> None:
        self.db = db
        self.every = every
        self._windows: dict[str, _Window] = {}
        self._window_start: datetime = utcnow()

    def record(self, publication_id: str, congress_id: str, document_id: str, delegate_id: str | None) -> None:
        window = self._windows.get(publication_id)
        if window is None:
            window = self._windows[publication_id] = _Window(congress_id, document_id)
        window.views += 1
        if delegate_id:
            window.delegates.add(delegate_id)

    async def stop(self) -> None:
        await super().stop()
        await self.flush()

    async def run_once(self) -> int:
        return await self.flush()

    async def pause(self) -> None:
        await asyncio.sleep(self.every)

    async def flush(self) -> int:
        if not self._windows:
            return 0
        windows, self._windows = self._windows, {}
        start, end = self._window_start, utcnow()
        self._window_start = end
        try:
            async with self.db.uow() as uow:
                for publication_id, window in windows.items():
                    if window.delegates:
                        seen = set((await uow.session.scalars(select(publication_viewers.c.delegate_id).where(
                            publication_viewers.c.publication_id == publication_id,
                            publication_viewers.c.delegate_id.in_(window.delegates)))).all())
                        new = [{"publication_id": publication_id, "delegate_id": d, "first_viewed_at": end}
                               for d in window.delegates - seen]
                        if new:
                            await uow.session.execute(publication_viewers.insert(), new)
                    unique = await uow.session.scalar(select(func.count()).select_from(publication_viewers).where(
                        publication_viewers.c.publication_id == publication_id))
                    await uow.session.execute(publications.update().where(publications.c.id == publication_id).values(
                        views=publications.c.views + window.views, unique_delegates=unique or 0))
                    await uow.emit(cc.DocumentViewed(
                        congress_id=uuid.UUID(window.congress_id), publication_id=uuid.UUID(publication_id),
                        document_id=uuid.UUID(window.document_id), views=window.views,
                        unique_delegates=len(window.delegates), window_start=start, window_end=end))
        except BaseException:
            self._merge_back(windows)
            raise
        return sum(w.views for w in windows.values())

    def _merge_back(self, windows: dict[str, _Window]) -> None:
        for publication_id, window in windows.items():
            current = self._windows.get(publication_id)
            if current is None:
                self._windows[publication_id] = window
            else:
                current.views += window.views
                current.delegates |= window.delegates
