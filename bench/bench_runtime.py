"""The Caddy hop: requests/s of `/congress/healthz` through Caddy vs directly to the congress
service, measured in the same run (interleaved, median of several rounds).

Goal: through Caddy >= 0.65 x direct (the hop costs at most 35 %); a reference
measurement on a 2-core machine found about 20 %
(7.9k req/s direct, 6.2k through Caddy for a JSON hello).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.harness import Figure, Load, wrk
from runtime.processes import Caddy, NatsServer, ServiceProcess, free_port

ROUNDS = 3
DURATION = 3.0
CONNECTIONS = 32
THREADS = 1  # two cores: leave one to the server side
MAX_HOP_COST = 0.35
BASELINE_DIRECT, BASELINE_CADDY = 7900.0, 6200.0


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        data_dir = Path(tmp) / "var"
        logs = data_dir / "logs"
        started = []
        try:
            nats = NatsServer(data_dir / "nats", log_path=logs / "nats.log").start()
            started.append(nats)
            congress = ServiceProcess(
                "congress",
                env={"NATS_URL": nats.url, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"},
                log_path=logs / "congress.log",
            ).start()
            started.append(congress)
            caddy = Caddy(
                port=free_port(),
                upstreams={"congress": f"127.0.0.1:{congress.port}", "documents": "127.0.0.1:9", "signing": "127.0.0.1:9"},
                blob_root=data_dir / "blobcache",
                state_dir=data_dir / "caddy",
                log_path=logs / "caddy.log",
            ).start()
            started.append(caddy)
            return measure(f"{congress.url}/healthz", f"{caddy.url}/congress/healthz")
        finally:
            for proc in reversed(started):
                proc.stop()


def measure(direct_url: str, caddy_url: str) -> list[Figure]:
    def load(url: str) -> Load:
        return wrk(url, duration=DURATION, threads=THREADS, connections=CONNECTIONS)

    load(direct_url)  # warm-up: imports, connection pools, JIT of nothing
    load(caddy_url)
    direct_runs: list[Load] = []
    caddy_runs: list[Load] = []
    for _ in range(ROUNDS):  # interleaved, so drift hits both sides alike
        direct_runs.append(load(direct_url))
        caddy_runs.append(load(caddy_url))
    direct = statistics.median(r.requests_per_s for r in direct_runs)
    through = statistics.median(r.requests_per_s for r in caddy_runs)
    p99 = statistics.median(r.latency_ms.get("99%", float("nan")) for r in caddy_runs)
    errors = sum(r.errors for r in direct_runs + caddy_runs)
    cost = 1 - through / direct if direct else 1.0
    return [
        Figure("congress /healthz direct", "info", direct, BASELINE_DIRECT, errors == 0, "req/s"),
        Figure("congress /healthz through Caddy", "info", through, BASELINE_CADDY, errors == 0, "req/s"),
        Figure("  p99 latency through Caddy", f"{CONNECTIONS} connections", p99, None, True, "ms"),
        Figure(
            "Caddy hop cost",
            f"<= {MAX_HOP_COST:.0%}",
            f"{cost:.0%}",
            f"{1 - BASELINE_CADDY / BASELINE_DIRECT:.0%}",
            cost <= MAX_HOP_COST and errors == 0,
        ),
    ]
