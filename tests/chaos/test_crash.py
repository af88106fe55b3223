"""The crash test: the whole congress journey runs while services die.

A workload (tests/support/workload.py) creates congresses, staff, delegates, uploads, signature
requests and signatures, publications and their scans, check-ins and closes through Caddy, one
operation at a time. Meanwhile:
1. every named fault point of every service (runtime/faults.py, and every `fault_point("…")` in
   the code) is armed in turn with FAULT_POINTS on a restart: the process SIGKILLs itself there,
   driven by the workload, and is restarted clean;
2. a chaos loop SIGKILLs a random service every few seconds and restarts it.
At the end every service's state equals what the workload expects (read back through the APIs:
no lost or duplicate congress, delegate, upload, signature, publication, check-in or sealed
archive record), every fact is in the event streams once, and the dead-letter stream is empty.

The short run (CI) does at least 200 operations and fires every fault point once; the long run
(`make chaos`) does 2,000 operations under a faster chaos loop.
Steps whose endpoints do not exist are printed ("absent steps").
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.chaos.harness import (
    Chaos,
    WorkloadThread,
    all_routes,
    assert_nothing_lost_or_doubled,
    fault_targets,
    settle_and_check,
)
from tests.support.system import start_system
from tests.support.workload import Workload


class BoundedWorkload(WorkloadThread):
    """Runs rounds until it has done `operations` AND the chaos controller says stop."""

    def run(self) -> None:
        try:
            while not (self.workload.operations >= self.target and self.stop_requested.is_set()):
                self.rounds += 1
                self.workload.round(self.rounds)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def crash_run(root: Path, *, operations: int, random_kills: int, interval: tuple[float, float],
              seed: int) -> None:
    started = time.monotonic()
    system = start_system(root, extra_env={"MAX_DELIVERIES": "5"})
    try:
        workload = Workload(system.url, all_routes(system), system.admin_username, system.admin_password)
        workload.setup()
        thread = BoundedWorkload(workload, operations)
        thread.start()
        chaos = Chaos(system, seed=seed)
        targets, unplaced = fault_targets()
        missed = []
        for service, point in targets:
            if not chaos.fire(service, point, thread):
                missed.append((service, point))
        # then random SIGKILLs until both the operations and the kills are done
        while thread.busy and (workload.operations < operations or sum(
                "SIGKILL" in k and "re-armed" not in k for k in chaos.log.kills) < random_kills):
            time.sleep(chaos.random.uniform(*interval))
            if thread.busy:
                chaos.kill_random()
        thread.stop_requested.set()
        thread.join(timeout=600)
        chaos.all_running()
        figures = settle_and_check(system, workload)
        random_count = sum("SIGKILL" in k and "re-armed" not in k for k in chaos.log.kills)
        print(f"\n--- crash run ({time.monotonic() - started:.0f}s) ---")
        print(workload.summary())
        print(f"rounds (congresses): {thread.rounds}; random SIGKILLs: {random_count}; fault points fired: "
              f"{len(chaos.log.fired)} of {len(targets)}: {chaos.log.fired}")
        print(f"restarts: {chaos.log.restarts}; events in streams: {figures['messages']}")
        print(f"lost/doubled problems: {len(figures['problems'])}; duplicate ids: {figures['duplicate_ids']}; "
              f"duplicate facts: {figures['duplicate_facts']}; dead letters: {len(figures['dead_letters'])}")
        print(f"absent steps: {workload.absent() or 'none'}; steps run: {sorted(workload.ran)}")
        if unplaced:
            print(f"known fault points no code calls (cannot fire): {unplaced}")
        print("\n".join(chaos.log.kills))
        assert thread.error is None, f"the workload failed: {thread.error!r}"
        assert missed == [], f"fault points that did not fire: {missed}"
        assert unplaced == [], f"fault points named in runtime/faults.py but called nowhere: {unplaced}"
        assert workload.operations >= operations
        assert_nothing_lost_or_doubled(figures)
    finally:
        system.stop()


def test_short_crash_run_every_fault_point_and_random_kills(tmp_path: Path) -> None:
    crash_run(tmp_path, operations=200, random_kills=4, interval=(3.0, 5.0),
              seed=int(os.environ.get("CHAOS_SEED", "11")))


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_long_crash_run(tmp_path: Path) -> None:
    crash_run(tmp_path, operations=2000, random_kills=60, interval=(2.0, 4.0),
              seed=int(os.environ.get("CHAOS_SEED", "2026")))
