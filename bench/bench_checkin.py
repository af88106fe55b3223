"""Check-in at the door under the load of a big congress: 2,000 check-ins in one minute from 20
clients (each badge once, paced evenly) through Caddy, with a secretary's dashboard following
the attendance stream (server-sent events).

Figures: errors (goal 0, and all 2,000 present), p50 and p99 latency of a check-in (reported,
against the p99 of the service's /congress/healthz polled at the same pace in the same run), and
how long after the last check-in's answer the dashboard showed all 2,000 present (goal < 1 s).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import Figure, percentile
from tests.support.checkin_fixtures import all_delegates, code_of, roster_csv, secretary_of
from tests.support.congress_fixtures import admin_client
from tests.support.system import start_system

DELEGATES = 2_000
CLIENTS = 20
SECONDS = 60.0
MAX_DASHBOARD_LAG = 1.0


async def follow_dashboard(url: str, token: str, target: int, seen: dict[str, float], ready: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=None, headers={"Authorization": token}) as client:
        async with client.stream("GET", url) as stream:
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "attendance":
                    ready.set()
                    if json.loads(line.split(":", 1)[1])["present"] >= target:
                        seen["all_present"] = time.monotonic()
                        return


async def load(base: str, token: str, congress_id: str, codes: list[str]) -> dict[str, object]:
    seen: dict[str, float] = {}
    ready = asyncio.Event()
    dashboard = asyncio.create_task(follow_dashboard(f"{base}/api/congresses/{congress_id}/attendance/events",
                                                     token, len(codes), seen, ready))
    await asyncio.wait_for(ready.wait(), 20)
    latencies: list[float] = []
    health: list[float] = []
    errors: list[int] = []
    last_answer = 0.0
    interval = SECONDS * CLIENTS / len(codes)  # each client's pace
    started = time.monotonic()

    async def client(index: int) -> None:
        nonlocal last_answer
        mine = codes[index::CLIENTS]
        async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": token}) as http:
            for n, code in enumerate(mine):
                await asyncio.sleep(max(0.0, started + index * interval / CLIENTS + n * interval - time.monotonic()))
                t0 = time.monotonic()
                answer = await http.post(f"/api/congresses/{congress_id}/checkins", json={"code": code, "method": "badge"})
                t1 = time.monotonic()
                latencies.append((t1 - t0) * 1000)
                last_answer = max(last_answer, t1)
                if answer.status_code != 201:
                    errors.append(answer.status_code)

    async def poll_health() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while time.monotonic() - started < SECONDS:
                t0 = time.monotonic()
                await http.get("/congress/healthz")
                health.append((time.monotonic() - t0) * 1000)
                await asyncio.sleep(interval / CLIENTS)

    await asyncio.gather(poll_health(), *(client(i) for i in range(CLIENTS)))
    elapsed = last_answer - started
    try:
        await asyncio.wait_for(dashboard, 10)
    except TimeoutError:
        pass
    lag = seen["all_present"] - last_answer if "all_present" in seen else float("inf")
    return {"latencies": latencies, "health": health, "errors": errors, "elapsed": elapsed, "lag": lag}


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-checkin-") as tmp:
        system = start_system(Path(tmp), services=("congress",))
        try:
            admin = admin_client(system.url)
            secretary, _, _ = secretary_of(system.url, admin)
            congress_id = secretary.post("/api/congresses", json={"title": "Đại hội đại biểu toàn quốc",
                                                                  "quorum": 0.66}).json()["id"]
            imported = secretary.post(f"/api/congresses/{congress_id}/delegates/import",
                                      files={"file": ("danh-sach.csv", roster_csv(DELEGATES), "text/csv")})
            assert imported.status_code == 200, imported.text
            codes = [code_of(d) for d in all_delegates(secretary, congress_id)]
            result = asyncio.run(load(system.url, secretary.headers["Authorization"], congress_id, codes))
            present = secretary.get(f"/api/congresses/{congress_id}/attendance").json()["present"]
        finally:
            system.stop()
    latencies, health = result["latencies"], result["health"]
    p99, p50 = percentile(latencies, 99), statistics.median(latencies)  # type: ignore[arg-type]
    health_p99 = percentile(health, 99)  # type: ignore[arg-type]
    errors = len(result["errors"])  # type: ignore[arg-type]
    lag = float(result["lag"])  # type: ignore[arg-type]
    return [
        Figure(f"{DELEGATES:,} check-ins from {CLIENTS} clients: errors", "0", float(errors), None,
               errors == 0 and present == DELEGATES),
        Figure("  time taken", f"~{SECONDS:.0f} s", float(result["elapsed"]), SECONDS, True, "s"),  # type: ignore[arg-type]
        Figure("  check-in latency p50", "reported", p50, None, True, "ms"),
        # The issue asks for the p99 to be reported; the baseline is /congress/healthz polled at the
        # same pace through the same Caddy in the same run (what the machine itself costs).
        Figure("  check-in latency p99 (baseline: healthz p99)", "reported", p99, health_p99, True, "ms"),
        Figure("  dashboard (SSE) shows all present after the last answer", f"< {MAX_DASHBOARD_LAG:.0f} s", lag,
               None, lag < MAX_DASHBOARD_LAG, "s"),
    ]
