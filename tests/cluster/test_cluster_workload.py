"""The production topology under a congress workload while a NATS node dies (SIGKILL) and returns.

3 nats-servers (deploy/nats configs on loopback), every service twice with its own NATS user,
PostgreSQL, Caddy. The node leading the CONGRESS stream is killed a third of the way through
and restarted at two thirds. Each round makes a congress, its staff and delegates, an upload
signed through a signature request, a publication and its scans, check-ins (and a repeated
scan), and closes the congress once its request has completed. Afterwards every record the
workload created is there exactly once (read back through the API), each present delegate's
check-in is in the attendance and once in the CONGRESS stream, each closed congress has one
sealed archive record whose online verification says intact, every event is in its stream
once, every consumer has caught up, nothing was dead-lettered, and no request answered a 5xx
other than 503.

`make cluster` runs everything; .ci/run leaves out the long run (-k "not long").
Steps whose endpoints do not exist yet are listed in the output (`-rs`) as skipped steps.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import contracts.congress as cc
import contracts.documents as dc
from contracts.streams import DEAD_LETTER, SERVICE_STREAMS
from tests.cluster.harness import ClusterSystem, openapi_routes, start_cluster_system
from tests.cluster.workload import CHECKINS, CLOSES, SEALED, Workload
from tests.support.matrix import app_routes
from tests.support.workload import consumers_behind, stream_report
from tests.support.system import ADMIN_PASSWORD, ADMIN_USERNAME

pytestmark = pytest.mark.slow

CATCH_UP_SECONDS = 120.0


@pytest.fixture(scope="module")
def cluster_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSystem]:
    system = start_cluster_system(tmp_path_factory.mktemp("cluster"))
    try:
        yield system
    finally:
        system.stop()


def run_workload(system: ClusterSystem, operations: int, kills: int = 1) -> Workload:
    """`operations` HTTP operations; the CONGRESS stream leader is killed and restarted `kills` times."""
    # pages (/q/{token}…) are left out of OpenAPI: the apps' own route tables name them
    routes = openapi_routes(system) | app_routes()
    schedule = []  # (kill at op, restart at op)
    span = operations // (2 * kills + 1)
    for k in range(kills):
        schedule.append((span * (2 * k + 1), span * (2 * k + 2)))
    killed: dict[int, int] = {}  # schedule index -> node index
    events: list[str] = []

    def on_operation(done: int) -> None:
        for i, (kill_at, restart_at) in enumerate(schedule):
            if done == kill_at and i not in killed:
                leader = system.stream_leader(SERVICE_STREAMS["congress"].name)
                index = system.nats.index_of(leader)
                system.nats.nodes[index].kill()
                killed[i] = index
                events.append(f"op {done}: SIGKILL {leader} (CONGRESS stream leader)")
            if done == restart_at and i in killed:
                system.nats.nodes[killed[i]].start()
                events.append(f"op {done}: restarted n{killed[i] + 1}")

    workload = Workload(system.url, routes, ADMIN_USERNAME, ADMIN_PASSWORD, on_operation=on_operation)
    workload.setup()
    index = 0
    while workload.operations < operations:
        index += 1
        before = workload.operations
        workload.round(index)
        assert workload.operations > before, f"no step can run: {workload.absent()}"
    for i, (_, restart_at) in enumerate(schedule):  # a short run may end before the restart
        if i in killed and not system.nats.nodes[killed[i]].running:
            system.nats.nodes[killed[i]].start()
    assert len(killed) == kills, events
    print("\n".join(events))
    return workload


def wait_consumers_caught_up(system: ClusterSystem) -> dict[str, tuple[int, int]]:
    """Every durable of every stream has delivered and had acked everything; returns the laggards
    (durable -> (pending, ack pending)) if they did not catch up in time."""

    async def lagging() -> dict[str, tuple[int, int]]:
        async with system.admin() as nc:
            return await consumers_behind(nc.jetstream(timeout=10))

    deadline = time.monotonic() + CATCH_UP_SECONDS
    while True:
        behind = asyncio.run(lagging())
        if not behind or time.monotonic() > deadline:
            return behind
        time.sleep(1)


def read_streams(system: ClusterSystem) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async with system.admin() as nc:
            return await stream_report(nc.jetstream(timeout=10))

    return asyncio.run(read())


def missing_facts(workload: Workload, facts: Counter) -> list[str]:
    """Facts the workload caused that are not in the streams exactly once: a check-in per present
    delegate (CONGRESS), a close and a sealed record per closed congress (CONGRESS, DOCUMENTS)."""
    wrong = []
    for plan in workload.plans:
        expected = [(cc.DelegateCheckedIn.subject, delegate_id) for delegate_id in plan.checked_in]
        if plan.closed:
            expected += [(cc.CongressClosed.subject, plan.id), (dc.ArchiveSealed.subject, plan.id)]
        wrong += [f"{plan.title}: {key} stated {facts[key]} times" for key in expected if facts[key] != 1]
    return wrong


def check_exactly_once(system: ClusterSystem, workload: Workload) -> None:
    assert workload.server_errors == [], workload.server_errors
    # the records are sealed (and verified) first: sealing itself makes events to catch up on
    problems = workload.expected_state_problems()
    assert problems == [], "\n".join(problems)
    behind = wait_consumers_caught_up(system)
    assert behind == {}, f"consumers still behind after {CATCH_UP_SECONDS:.0f}s: {behind}"
    report = read_streams(system)
    assert all(not ids for ids in report["duplicate_ids"].values()), report["duplicate_ids"]
    assert all(not facts for facts in report["duplicate_facts"].values()), report["duplicate_facts"]
    assert report["dead_letters"] == [], report["dead_letters"]
    assert missing_facts(workload, report["facts"]) == []
    for step in (CHECKINS, CLOSES, SEALED):
        assert step.name in workload.ran, f"step {step.name!r} did not run: {workload.absent()}"
    closed = [plan for plan in workload.plans if plan.closed]
    print(f"congresses: {len(workload.plans)}, closed and sealed: {len(closed)}, check-ins: "
          f"{sum(len(p.checked_in) for p in workload.plans)} (+{sum(p.duplicate_checkins for p in workload.plans)} "
          f"repeated scans), events: {report['messages']}")


def report_absent(workload: Workload) -> None:
    absent = workload.absent()
    print(f"\n{workload.summary()}")
    for step, missing in absent.items():
        message = f"workload step '{step}' skipped: endpoint absent from the services' routes: {', '.join(missing)}"
        print(message)
        warnings.warn(message, stacklevel=1)


def test_short_workload_with_one_node_killed(cluster_system: ClusterSystem) -> None:
    workload = run_workload(cluster_system, operations=200, kills=1)
    report_absent(workload)
    check_exactly_once(cluster_system, workload)


def test_long_workload_with_nodes_killed_twice(cluster_system: ClusterSystem) -> None:
    workload = run_workload(cluster_system, operations=1500, kills=2)
    report_absent(workload)
    check_exactly_once(cluster_system, workload)


def test_every_stream_and_bucket_has_three_replicas(cluster_system: ClusterSystem) -> None:
    async def replicas() -> dict[str, int]:
        async with cluster_system.admin() as nc:
            js = nc.jetstream(timeout=10)
            names = [s.name for s in SERVICE_STREAMS.values()] + [DEAD_LETTER.name, "OBJ_blobs", "KV_shared",
                                                                   "KV_ratelimits"]
            return {name: (await js.stream_info(name)).config.num_replicas for name in names}

    assert set(asyncio.run(replicas()).values()) == {3}


def test_log_files_show_no_permission_violation(cluster_system: ClusterSystem) -> None:
    for log in Path(cluster_system.root / "logs").glob("*.log"):
        assert "permissions violation" not in log.read_text(errors="replace").lower(), log
