"""Crash-test machinery: the workload in a thread, a chaos loop that SIGKILLs services, the named
fault points of the code, and the end-of-run checks (state equals the workload's, streams hold
each fact once, no dead letter).

Everything runs on loopback on free ports (tests/support/system.py) and stops by itself: the
workload is bounded by its operation count, every wait by a deadline.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nats

from runtime.faults import KNOWN_FAULT_POINTS
from runtime.processes import REPO_ROOT, ServiceProcess
from runtime.settings import SERVICES
from tests.support.matrix import app_routes
from tests.support.system import System
from tests.support.workload import Workload, consumers_behind, openapi_routes, stream_report

CATCH_UP_SECONDS = 120.0
_FAULT_CALL = re.compile(r"""fault_point\(\s*["']([^"']+)["']\s*\)""")


def fault_points_in_code() -> dict[str, set[str]]:
    """fault point name -> the services whose process can reach it (a point in runtime/ is in all)."""
    found: dict[str, set[str]] = {}
    for top in ("runtime", *SERVICES):
        for path in (REPO_ROOT / top).rglob("*.py"):
            if path.name == "faults.py" and top == "runtime":
                continue
            for name in _FAULT_CALL.findall(path.read_text(encoding="utf-8", errors="replace")):
                found.setdefault(name, set()).update(SERVICES if top == "runtime" else {top})
    return found


def fault_targets() -> tuple[list[tuple[str, str]], list[str]]:
    """(service, fault point) pairs to fire, every point in every service that reaches it; and the
    KNOWN_FAULT_POINTS that no code calls (reported: nothing can fire them)."""
    in_code = fault_points_in_code()
    targets = sorted((service, name) for name, services in in_code.items() for service in services)
    unplaced = sorted(set(KNOWN_FAULT_POINTS) - set(in_code))
    return targets, unplaced


def all_routes(system: System) -> set[tuple[str, str, str]]:
    """What the services serve: their OpenAPI documents plus the routes left out of them
    (delegate pages such as /q/{token} are not in the schema)."""
    return openapi_routes(system.url) | app_routes()


@dataclass
class ChaosLog:
    kills: list[str] = field(default_factory=list)  # "t=12.3s SIGKILL documents"
    fired: list[tuple[str, str]] = field(default_factory=list)  # (service, fault point) seen firing
    restarts: int = 0


class WorkloadThread(threading.Thread):
    """Rounds of the workload until `operations` are done (or `stop` is set); any failure is kept."""

    def __init__(self, workload: Workload, operations: int) -> None:
        super().__init__(name="workload", daemon=True)
        self.workload = workload
        self.target = operations
        self.stop_requested = threading.Event()
        self.error: BaseException | None = None
        self.rounds = 0

    def run(self) -> None:
        try:
            while self.workload.operations < self.target and not self.stop_requested.is_set():
                self.rounds += 1
                before = self.workload.operations
                self.workload.round(self.rounds)
                assert self.workload.operations > before, f"no step can run: {self.workload.absent()}"
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    @property
    def busy(self) -> bool:
        return self.is_alive()


class Chaos:
    """SIGKILLs of service processes, and restarts with a fault point armed."""

    def __init__(self, system: System, seed: int | None = None) -> None:
        self.system = system
        self.random = random.Random(seed)
        self.log = ChaosLog()
        self.started = time.monotonic()

    def _stamp(self) -> str:
        return f"t={time.monotonic() - self.started:.1f}s"

    def restart(self, proc: ServiceProcess, fault: str | None = None) -> None:
        proc.env.pop("FAULT_POINTS", None)
        if fault:
            proc.env["FAULT_POINTS"] = fault
        proc.start(wait=fault is None, timeout=60)
        self.log.restarts += 1

    def kill_random(self) -> str:
        name = self.random.choice(list(self.system.services))
        proc = self.system.services[name]
        proc.kill()
        self.log.kills.append(f"{self._stamp()} SIGKILL {name} (pid {proc.pid})")
        self.restart(proc)
        return name

    def loop(self, workload: WorkloadThread, interval: tuple[float, float] = (2.0, 4.0)) -> None:
        """Kill a random service every few seconds while the workload runs."""
        while workload.busy:
            deadline = time.monotonic() + self.random.uniform(*interval)
            while workload.busy and time.monotonic() < deadline:
                time.sleep(0.1)
            if workload.busy:
                self.kill_random()

    def fire(self, service: str, point: str, workload: WorkloadThread, timeout: float = 120.0) -> bool:
        """Restart `service` with `point` armed; wait until the process SIGKILLs itself there (the
        workload drives it), then restart it clean. False if it did not fire in time."""
        proc = self.system.services[service]
        marker = f"fault point {point} reached"
        seen_before = _count_in(proc.log_path, marker)
        proc.kill()
        self.log.kills.append(f"{self._stamp()} SIGKILL {service} (re-armed at {point})")
        self.restart(proc, fault=point)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.running:
                fired = _count_in(proc.log_path, marker) > seen_before
                if fired:
                    self.log.fired.append((service, point))
                    self.log.kills.append(f"{self._stamp()} {service} killed itself at {point}")
                self.restart(proc)
                return fired
            if not workload.busy:
                break
            time.sleep(0.1)
        proc.kill()
        self.restart(proc)
        return False

    def all_running(self) -> None:
        for proc in self.system.services.values():
            if not proc.running:
                self.restart(proc)
        self.system.wait_ready(timeout=120)


def _count_in(path: Path, text: str) -> int:
    try:
        return path.read_text(errors="replace").count(text)
    except OSError:
        return 0


def nats_js(system: System, action: Callable) -> object:  # type: ignore[type-arg]
    async def go():  # type: ignore[no-untyped-def]
        nc = await nats.connect(system.nats_url, connect_timeout=5)
        try:
            return await action(nc.jetstream(timeout=10))
        finally:
            await nc.close()

    return asyncio.run(go())


def settle_and_check(system: System, workload: Workload) -> dict[str, object]:
    """Wait for every consumer to catch up, then compare everything; returns the figures."""
    deadline = time.monotonic() + CATCH_UP_SECONDS
    behind = nats_js(system, consumers_behind)
    while behind and time.monotonic() < deadline:
        time.sleep(1)
        behind = nats_js(system, consumers_behind)
    problems = workload.expected_state_problems()
    report = nats_js(system, stream_report)
    assert isinstance(report, dict)
    figures = {
        "behind": behind,
        "problems": problems,
        "duplicate_ids": {k: v for k, v in report["duplicate_ids"].items() if v},
        "duplicate_facts": {k: v for k, v in report["duplicate_facts"].items() if v},
        "dead_letters": report["dead_letters"],
        "messages": report["messages"],
        "server_errors": workload.server_errors,
    }
    return figures


def assert_nothing_lost_or_doubled(figures: dict[str, object]) -> None:
    assert figures["server_errors"] == [], figures["server_errors"]
    assert figures["behind"] == {}, f"consumers still behind after {CATCH_UP_SECONDS:.0f}s: {figures['behind']}"
    assert figures["problems"] == [], "\n".join(figures["problems"])  # type: ignore[arg-type]
    assert figures["duplicate_ids"] == {}, figures["duplicate_ids"]
    assert figures["duplicate_facts"] == {}, figures["duplicate_facts"]
    assert figures["dead_letters"] == [], figures["dead_letters"]
