"""Wiring of the day's work into the congress service (called by bootstrap): check-in, the live
attendance feed and its snapshots, closing, personal data, the console pages and their static
files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.staticfiles import StaticFiles

from congress.api import checkins as checkins_api
from congress.api import closing as closing_api
from congress.api import privacy as privacy_api
from congress.attendance_live import AttendanceFeed, Snapshots
from congress.domain.attendance import checkins_over_time
from congress.handlers.attendance import checkin_times, day_summary
from congress.pages import checkin as checkin_page
from congress.pages.console import congress_pages, day_pages, documents_pages, roster_pages, session_pages
from runtime.service import ServiceRuntime

STATIC = Path(__file__).parent / "static"
STATIC_PREFIX = "/static/congress"

ROUTERS = [checkins_api.router, closing_api.router, privacy_api.router, checkin_page.router, session_pages.router,
           congress_pages.router, roster_pages.router, documents_pages.router, day_pages.router]


def install(runtime: ServiceRuntime) -> None:
    feed = AttendanceFeed()

    async def compute(congress_id: str) -> dict[str, Any]:
        async with runtime.db.session() as session:
            summary = await day_summary(session, congress_id)
            bars = checkins_over_time(await checkin_times(session, congress_id))
        return {**summary, "bars": bars}

    runtime.extras.update(attendance_feed=feed, attendance_snapshots=Snapshots(feed, compute))

    async def follow(runtime: ServiceRuntime) -> None:
        await feed.follow(runtime.js)

    runtime.on_nats_ready.append(follow)


def mount_static(app: Any) -> None:
    """The console's scripts and the vendored QR reader, served by this service under
    /static/congress (Caddy routes that prefix here)."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC), name="congress-static")
