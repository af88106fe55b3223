"""Wiring of congresses, rosters and publications into the congress service (called by bootstrap):
the scan-page cache, the view counter, the live feed for delegate homes, the blob cache, and
the routers."""

from __future__ import annotations

from congress.api import agenda as agenda_api
from congress.api import congresses as congresses_api
from congress.api import delegates as delegates_api
from congress.api import publications as publications_api
from congress.live import LiveFeed
from congress.pages import delegate_pages
from congress.pages.scan import ScanCache
from congress.views import ViewCounter
from runtime.blobs import BlobStore
from runtime.service import ServiceRuntime

# FastAPI tries routes in the order they were included, and matching costs a few microseconds per
# route: the delegate pages (`/q/{token}` is the hot path) go before every other router.
SCAN_ROUTERS = [delegate_pages.router]
ROUTERS = [congresses_api.router, agenda_api.router, delegates_api.router, publications_api.router]


def install(runtime: ServiceRuntime) -> None:
    scan_cache = ScanCache(runtime.db)
    live = LiveFeed()
    live.on_change(scan_cache.forget_congress)
    views = ViewCounter(runtime.db, every=runtime.settings.view_flush_seconds)
    runtime.extras.update(scan_cache=scan_cache, live=live, views=views,
                          fragments=delegate_pages.Fragments(runtime, live))

    async def start_counting(runtime: ServiceRuntime) -> None:
        views.start()

    async def follow_and_fetch(runtime: ServiceRuntime) -> None:
        runtime.extras["blobs"] = BlobStore(runtime.js, runtime.settings.data_dir.resolve() / "blobcache")
        await live.follow(runtime.js)

    async def write_last_counts(runtime: ServiceRuntime) -> None:
        """The views of the last few seconds are only in memory: write them before stopping
        (the outbox relay publishes their events, now or at the next start)."""
        await live.stop()
        await views.stop()

    runtime.on_db_ready.append(start_counting)
    runtime.on_nats_ready.append(follow_and_fetch)
    runtime.on_stop.append(write_last_counts)
