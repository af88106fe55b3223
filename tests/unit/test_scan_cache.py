"""The scan cache's single flight: a crowd of cold scans of one poster costs one query, and a
result loaded across a forget (a publish, a revoke) is not kept. No database: the loads are
plain coroutines."""

from __future__ import annotations

import asyncio

from congress.pages.scan import ScanCache


def test_concurrent_misses_share_one_load() -> None:
    async def scenario() -> tuple[int, list[str], dict[str, str]]:
        cache = ScanCache(db=None)  # type: ignore[arg-type]
        loads = 0
        kept: dict[str, str] = {}

        async def load() -> str:
            nonlocal loads
            loads += 1
            await asyncio.sleep(0.01)
            return "trang"

        results = await asyncio.gather(*(cache._single_flight(("entry", "t"), load, lambda v: kept.update(t=v))
                                         for _ in range(500)))
        await cache._single_flight(("entry", "t"), load, lambda v: kept.update(t=v))  # settled: a new load
        return loads, results, kept

    loads, results, kept = asyncio.run(scenario())
    assert loads == 2 and set(results) == {"trang"} and kept == {"t": "trang"}


def test_a_load_across_a_forget_is_answered_but_not_kept() -> None:
    async def scenario() -> tuple[str, str, dict[str, str], int]:
        cache = ScanCache(db=None)  # type: ignore[arg-type]
        kept: dict[str, str] = {}
        loads = 0
        release = asyncio.Event()

        async def load() -> str:
            nonlocal loads
            loads += 1
            if loads == 1:
                await release.wait()
                return "trước khi thu hồi"
            return "sau khi thu hồi"

        first = asyncio.ensure_future(cache._single_flight(("others", "c"), load, lambda v: kept.update(c=v)))
        await asyncio.sleep(0)
        cache.forget_congress("c")  # a revoke arrives while the first load is still running
        second = await cache._single_flight(("others", "c"), load, lambda v: kept.update(c=v))
        release.set()
        return await first, second, kept, loads

    first, second, kept, loads = asyncio.run(scenario())
    assert first == "trước khi thu hồi" and second == "sau khi thu hồi"
    assert kept == {"c": "sau khi thu hồi"} and loads == 2


def test_a_failed_load_is_not_cached_and_the_next_scan_tries_again() -> None:
    async def scenario() -> tuple[int, str]:
        cache = ScanCache(db=None)  # type: ignore[arg-type]
        loads = 0

        async def load() -> str:
            nonlocal loads
            loads += 1
            if loads == 1:
                raise ConnectionError("database restarting")
            return "trang"

        try:
            await cache._single_flight(("entry", "t"), load, lambda v: None)
        except ConnectionError:
            pass
        again = await cache._single_flight(("entry", "t"), load, lambda v: None)
        return loads, again

    assert asyncio.run(scenario()) == (2, "trang")
