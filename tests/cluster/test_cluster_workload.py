"""The production topology under a congress workload while a NATS node dies (SIGKILL) and returns.

3 nats-servers (deploy/nats configs on loopback), every service twice with its own NATS user,
PostgreSQL, Caddy. The node leading the CONGRESS stream is killed a third of the way through
and restarted at two thirds. Afterwards every record the workload created is there exactly
once (read back through the API), every event is in its stream once, every consumer has
caught up, nothing was dead-lettered, and no request answered a 5xx other than 503.

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

import pytest

from contracts.streams import DEAD_LETTER, SERVICE_STREAMS
from tests.cluster.harness import ClusterSystem, openapi_routes, start_cluster_system
from tests.cluster.workload import (
    CONGRESSES,
    DELEGATES,
    SIGNATURES,
    UPLOADS,
    USERS,
    Workload,
)
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
    routes = openapi_routes(system)
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
            js = nc.jetstream(timeout=10)
            behind = {}
            for spec in SERVICE_STREAMS.values():
                for consumer in await js.consumers_info(spec.name):
                    if consumer.config.durable_name and (consumer.num_pending or consumer.num_ack_pending):
                        behind[consumer.name] = (consumer.num_pending, consumer.num_ack_pending)
            return behind

    deadline = time.monotonic() + CATCH_UP_SECONDS
    while True:
        behind = asyncio.run(lagging())
        if not behind or time.monotonic() > deadline:
            return behind
        time.sleep(1)


def stream_report(system: ClusterSystem) -> tuple[dict[str, list[str]], int]:
    """Message ids seen twice in each event stream, and the number of dead letters."""

    async def read() -> tuple[dict[str, list[str]], int]:
        async with system.admin() as nc:
            js = nc.jetstream(timeout=10)
            duplicates = {}
            for spec in SERVICE_STREAMS.values():
                ids: Counter = Counter()
                total = (await js.stream_info(spec.name)).state.messages
                if total:
                    sub = await js.subscribe(spec.subjects[0], stream=spec.name, ordered_consumer=True)
                    for _ in range(total):
                        msg = await sub.next_msg(timeout=10)
                        ids[(msg.headers or {}).get("Nats-Msg-Id", "")] += 1
                    await sub.unsubscribe()
                duplicates[spec.name] = [key for key, n in ids.items() if n > 1 or not key]
            dead = (await js.stream_info(DEAD_LETTER.name)).state.messages
            return duplicates, dead

    return asyncio.run(read())


def check_exactly_once(system: ClusterSystem, workload: Workload) -> None:
    assert workload.server_errors == [], workload.server_errors
    behind = wait_consumers_caught_up(system)
    assert behind == {}, f"consumers still behind after {CATCH_UP_SECONDS:.0f}s: {behind}"
    duplicates, dead_letters = stream_report(system)
    assert all(not ids for ids in duplicates.values()), duplicates
    assert dead_letters == 0

    if USERS.name in workload.ran:
        usernames = Counter(u["username"] for u in workload.list_all("/api/users", workload.admin))
        assert all(usernames[name] == 1 for name in workload.created[USERS.name]), usernames
    if CONGRESSES.name in workload.ran:
        congresses = workload.list_all("/api/congresses", workload.secretary)
        titles = Counter(c["title"] for c in congresses)
        assert all(titles[t] == 1 for t in workload.created[CONGRESSES.name]), titles
        by_title = {c["title"]: c["id"] for c in congresses}
        if DELEGATES.name in workload.ran:
            for title in workload.created[CONGRESSES.name]:
                congress_id = by_title[title]
                names = Counter(
                    d["full_name"]
                    for d in workload.list_all(f"/api/congresses/{congress_id}/delegates", workload.secretary)
                )
                expected = [k.split(":", 1)[1] for k in workload.created[DELEGATES.name] if k.startswith(congress_id)]
                assert sorted(names.elements()) == sorted(expected), (title, names)
        if UPLOADS.name in workload.ran:
            for title in workload.created[CONGRESSES.name]:
                congress_id = by_title[title]
                docs = Counter(
                    d["title"] for d in workload.list_all("/api/documents", workload.secretary, congress_id=congress_id)
                )
                expected = [k.split(":", 1)[1] for k in workload.created[UPLOADS.name] if k.startswith(congress_id)]
                assert sorted(docs.elements()) == sorted(expected), (title, docs)
    if SIGNATURES.name in workload.ran:
        for request_id in workload.created[SIGNATURES.name]:
            request = workload.call("GET", f"/api/signing/requests/{request_id}", token=workload.secretary).json()
            signed = [s for s in request.get("signers", []) if s.get("signed_at") or s.get("status") == "signed"]
            assert len(signed) == 1, request


def report_absent(workload: Workload) -> None:
    absent = workload.absent()
    print(f"\noperations: {workload.operations}, retried after 503/dropped connection: {workload.retried}, "
          f"statuses: {dict(workload.statuses)}")
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
