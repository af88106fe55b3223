"""The broker and the database die mid-workload, and come back.

- NATS (the system's own nats-server) is SIGKILLed while the workload runs and restarted on the
  same port and store some seconds later: meanwhile every service reports not ready (/readyz 503)
  and answers 503 with Retry-After, never 500; they recover by themselves; nothing is lost.
- PostgreSQL: a PRIVATE instance this test makes with initdb/pg_ctl (run as the `postgres` user,
  on a free port, data and socket in a temp dir; never the machine's shared server) holds the
  three services' databases; it is stopped (immediate: a crash) mid-workload and started again.
  Same promises.

Both end with the crash test's checks: state equals the workload's, each fact once in the
streams, no dead letter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from runtime.processes import free_port
from runtime.settings import SERVICES
from tests.chaos.harness import WorkloadThread, all_routes, assert_nothing_lost_or_doubled, settle_and_check
from tests.support.system import System, start_system
from tests.support.workload import Workload

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
OUTAGE_SECONDS = 6.0


class Prober(threading.Thread):
    """While an outage lasts: /readyz of every service and a few API calls, every 0.3 s."""

    def __init__(self, system: System, token: str) -> None:
        super().__init__(daemon=True)
        self.system = system
        self.token = token
        self.stop = threading.Event()
        self.ready: Counter = Counter()  # (service, status)
        self.api: Counter = Counter()  # status
        self.missing_retry_after = 0
        self.server_errors: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.system.url, timeout=10) as c:
            while not self.stop.is_set():
                for name in SERVICES:
                    try:
                        self.ready[(name, c.get(f"/{name}/readyz").status_code)] += 1
                    except httpx.HTTPError:
                        self.ready[(name, 0)] += 1
                for path in ("/api/congresses", "/api/documents/me", "/api/signing/requests"):
                    try:
                        r = c.get(path, headers={"Authorization": f"Bearer {self.token}"})
                    except httpx.HTTPError:
                        continue
                    self.api[r.status_code] += 1
                    if r.status_code == 503 and "retry-after" not in r.headers:
                        self.missing_retry_after += 1
                    if r.status_code >= 500 and r.status_code != 503:
                        self.server_errors.append(f"{path} -> {r.status_code}: {r.text[:200]}")
                time.sleep(0.3)


def run_with_outage(system: System, outage: Callable[[], object], recover: Callable[[], object],
                    operations: int = 120) -> None:
    workload = Workload(system.url, all_routes(system), system.admin_username, system.admin_password)
    workload.setup()
    thread = WorkloadThread(workload, operations)
    thread.start()
    while workload.operations < operations // 3 and thread.busy:
        time.sleep(0.2)
    prober = Prober(system, workload.admin)
    prober.start()
    outage()
    time.sleep(OUTAGE_SECONDS)
    not_ready_seen = {name for (name, status) in prober.ready if status == 503}
    recover()
    recovered_at = time.monotonic()
    system.wait_ready(timeout=90)  # by themselves: nothing restarts the services
    recovery = time.monotonic() - recovered_at
    prober.stop.set()
    prober.join()
    thread.join(timeout=600)
    figures = settle_and_check(system, workload)
    print(f"\n{workload.summary()}\nreadyz during the outage: {dict(prober.ready)}; API: {dict(prober.api)}; "
          f"ready again {recovery:.1f}s after recovery; problems: {figures['problems']}")
    assert thread.error is None, f"the workload failed: {thread.error!r}"
    assert not_ready_seen == set(SERVICES), f"services that never reported not ready: {prober.ready}"
    assert prober.server_errors == [], prober.server_errors
    assert prober.missing_retry_after == 0
    assert all(proc.running for proc in system.services.values()), "a service died"
    assert_nothing_lost_or_doubled(figures)


def test_nats_restarted_mid_workload(tmp_path: Path) -> None:
    system = start_system(tmp_path)
    try:
        run_with_outage(system, outage=system.nats.kill, recover=system.nats.start)
    finally:
        system.stop()


# --------------------------------------------------------------------------- PostgreSQL


class PrivatePostgres:
    """A throwaway PostgreSQL cluster: initdb + pg_ctl as the postgres user, 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pg-private-"))
        self.data = self.root / "data"
        self.port = free_port()
        shutil.chown(self.root, "postgres")
        os.chmod(self.root, 0o700)

    def _as_postgres(self, *argv: str, timeout: float = 120) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, timeout=timeout,
                       capture_output=True, cwd=self.root)

    def init(self) -> PrivatePostgres:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "-E", "UTF8", "--no-sync")
        return self.start()

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                          str(self.root / "postgres.log"), "-w", "-t", "60", "start")
        return self

    def crash(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        try:
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL binaries not found in {PG_BIN}: `make chaos` installs the postgresql package")
    pg = PrivatePostgres().init()
    try:
        yield pg
    finally:
        pg.stop()


def test_postgresql_restarted_mid_workload(tmp_path: Path, private_postgres: PrivatePostgres) -> None:
    overrides = {name: {f"{name.upper()}_DATABASE_URL": private_postgres.create_database(name)} for name in SERVICES}
    system = start_system(tmp_path, service_env_overrides=overrides)
    try:
        run_with_outage(system, outage=private_postgres.crash, recover=private_postgres.start)
    finally:
        system.stop()
