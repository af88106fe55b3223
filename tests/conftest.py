"""Fixtures shared by every tier.

- `nats_server` (session): a JetStream nats-server of its own on a free port, temp store.
- `system` (session): nats + congress + documents + signing + Caddy, temp DATA_DIR;
  `system.url` is the entry point, `system.service_url(name)` a service directly.
- `database_url(service)`: with TEST_DATABASE=postgresql, a fresh PostgreSQL database per
  service per session on 127.0.0.1:5432 (dropped at the end); otherwise None = SQLite in
  the service's DATA_DIR.

Never the machine's own NATS on 4222: every test starts its own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from runtime.processes import NatsServer  # noqa: E402
from tests.support.preconditions import cannot_run  # noqa: E402
from tests.support.system import (  # noqa: E402
    PostgresDatabases,
    System,
    database_url,
    drop_test_databases,
    new_database_generation,
    start_system,
)

__all__ = ["database_url"]


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    drop_test_databases()


@pytest.fixture(scope="module", autouse=True)
def _databases_per_module() -> None:
    """On PostgreSQL, each test module's systems get databases of their own, as on SQLite
    where each system keeps its files in its own DATA_DIR."""
    new_database_generation()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresDatabases]:
    """Databases of their own on 127.0.0.1:5432 for a module that runs on both engines
    whatever TEST_DATABASE says (migrations, copies out of order); dropped at its end."""
    databases = PostgresDatabases()
    try:
        databases._execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any reason PostgreSQL is unusable here
        cannot_run(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    root = tmp_path_factory.mktemp("nats")
    server = NatsServer(root / "store", log_path=root / "nats.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    new_database_generation()  # session fixtures start before a module's own: no sharing either way
    running = start_system(tmp_path_factory.mktemp("system"))
    new_database_generation()
    try:
        yield running
    finally:
        running.stop()
