"""Start real parts for tests: nats-server, the services, Caddy, PostgreSQL databases.

Everything runs on free ports in temporary directories and is stopped by the caller
(the fixtures in tests/conftest.py do it even when a test fails; `atexit` in
runtime.processes kills whatever is left as a last resort).

    system = start_system(tmp_path)          # nats + 3 services + caddy
    httpx.get(f"{system.url}/congress/readyz")
    httpx.get(f"{system.service_url('documents')}/healthz")   # direct, no Caddy
    system.stop()
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.processes import Caddy, NatsServer, ServiceProcess, free_port, stop_all, wait_http_ok
from runtime.settings import SERVICES

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "test-admin-password-1"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# --------------------------------------------------------------------------- databases


class PostgresDatabases:
    """Fresh PostgreSQL databases for one test session, dropped by `drop_all()`.

    Used when the environment says TEST_DATABASE=postgresql; names look like
    `t_<random>_<service>`.
    """

    def __init__(self, admin_url: str = PG_ADMIN_URL) -> None:
        self.admin_url = admin_url
        self.run_id = secrets.token_hex(4)
        self.created: list[str] = []
        self._by_service: dict[str, str] = {}

    def _execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def create(self, service: str, *, fresh: bool = False) -> str:
        """SQLAlchemy URL of the session's database for `service` (a new one when `fresh`)."""
        if not fresh and service in self._by_service:
            return self._by_service[service]
        name = f"t_{self.run_id}_{service}_{len(self.created)}"
        self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        if not fresh:
            self._by_service[service] = url
        return url

    def next_generation(self) -> None:
        """Later calls get new databases: a test module's systems (its own nats-server, whose
        stream sequences start again at 1) must not meet the rows of another module's."""
        self._by_service.clear()

    def drop_all(self) -> None:
        for name in reversed(self.created):
            with contextlib.suppress(Exception):
                self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()
        self._by_service.clear()


def use_postgresql() -> bool:
    return os.environ.get("TEST_DATABASE", "").lower() in ("postgresql", "postgres", "pg")


_PG: PostgresDatabases | None = None


def database_url(service: str, *, fresh: bool = False) -> str | None:
    """`<SVC>_DATABASE_URL` for tests: a session PostgreSQL database when TEST_DATABASE=postgresql,
    else None (the service then uses SQLite in its DATA_DIR)."""
    global _PG
    if not use_postgresql():
        return None
    if _PG is None:
        _PG = PostgresDatabases()
    return _PG.create(service, fresh=fresh)


def new_database_generation() -> None:
    if _PG is not None:
        _PG.next_generation()


def drop_test_databases() -> None:
    if _PG is not None:
        _PG.drop_all()


def database_env(service: str, *, fresh: bool = False) -> dict[str, str]:
    url = database_url(service, fresh=fresh)
    return {f"{service.upper()}_DATABASE_URL": url} if url else {}


# --------------------------------------------------------------------------- processes


def start_nats(store_dir: Path | None = None, **kwargs: object) -> NatsServer:
    """A JetStream nats-server on a free port (store in a new temp dir unless given)."""
    store = Path(store_dir) if store_dir else Path(tempfile.mkdtemp(prefix="nats-")) / "store"
    return NatsServer(store, **kwargs).start()  # type: ignore[arg-type]


def service_env(
    name: str, nats_url: str, data_dir: Path, public_base_url: str | None = None, extra_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {
        "NATS_URL": nats_url,
        "DATA_DIR": str(Path(data_dir).resolve()),
        "ENVIRONMENT": "development",
        "ADMIN_USERNAME": ADMIN_USERNAME,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LOG_FORMAT": "json",
    }
    if public_base_url:
        env["PUBLIC_BASE_URL"] = public_base_url
    env.update(extra_env or {})
    return env


def start_service(
    name: str,
    nats_url: str,
    data_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    public_base_url: str | None = None,
    wait: bool = True,
) -> ServiceProcess:
    """Run `<name>.main:app` under uvicorn on a free port; waits for /healthz unless `wait=False`.

    The database comes from `extra_env` when it names one, else from `database_url(name)`.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**database_env(name), **service_env(name, nats_url, data_dir, public_base_url, extra_env)}
    proc = ServiceProcess(name, port=port, env=env, log_path=data_dir / "logs" / f"{name}.log")
    return proc.start(wait=wait)


@dataclass
class System:
    """nats + the three services + Caddy, all on free ports, data in `data_dir`."""

    data_dir: Path
    nats: NatsServer
    caddy: Caddy
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    admin_username: str = ADMIN_USERNAME
    admin_password: str = ADMIN_PASSWORD

    @property
    def url(self) -> str:
        """The entry point (Caddy), as phones and staff use it."""
        return self.caddy.url

    @property
    def nats_url(self) -> str:
        return self.nats.url

    def service_url(self, name: str) -> str:
        """The service's own address, bypassing Caddy."""
        return self.services[name].url

    def prefixed_url(self, name: str) -> str:
        """The service's operator endpoints through Caddy (`/<name>/healthz` ...)."""
        return f"{self.url}/{name}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_http_ok([f"{self.url}/{name}/readyz" for name in self.services], timeout=timeout)

    def stop(self) -> None:
        """Services first (together), then Caddy, then NATS; never raises."""
        with contextlib.suppress(Exception):
            stop_all(list(self.services.values()))
        for proc in (self.caddy, self.nats):
            with contextlib.suppress(Exception):
                proc.stop()

    def __enter__(self) -> System:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_system(
    data_dir: Path | None = None,
    *,
    services: tuple[str, ...] = SERVICES,
    extra_env: Mapping[str, str] | None = None,
    service_env_overrides: Mapping[str, Mapping[str, str]] | None = None,
    nats: NatsServer | None = None,
    wait_ready: bool = True,
    ready_timeout: float = 60.0,
) -> System:
    """Start a whole system; on any failure everything started so far is stopped again.

    `nats` lets a caller share a running server (it is then stopped by `System.stop()` too
    only if it was started here).
    """
    data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="system-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    logs = data_dir / "logs"
    own_nats = nats is None
    started: list = []
    try:
        if nats is None:
            nats = NatsServer(data_dir / "nats", log_path=logs / "nats.log").start()
            started.append(nats)
        ports = {name: free_port() for name in services}
        caddy = Caddy(
            port=free_port(),
            upstreams={name: f"127.0.0.1:{ports[name]}" for name in SERVICES if name in ports}
            | {name: "127.0.0.1:9" for name in SERVICES if name not in ports},
            blob_root=data_dir / "blobcache",
            state_dir=data_dir / "caddy",
            log_path=logs / "caddy.log",
        )
        procs: dict[str, ServiceProcess] = {}
        for name in services:
            env = {**database_env(name), **service_env(name, nats.url, data_dir, caddy.url, extra_env)}
            env.update((service_env_overrides or {}).get(name, {}))
            procs[name] = ServiceProcess(name, port=ports[name], env=env, log_path=logs / f"{name}.log")
            procs[name].start(wait=False)  # in parallel: imports take most of the start time
            started.append(procs[name])
        for proc in procs.values():
            proc.wait_ready(timeout=60)
        caddy.start()
        started.append(caddy)
        system = System(data_dir=data_dir, nats=nats, caddy=caddy, services=procs)
        if not own_nats:
            system.stop = _stop_keeping(system, nats)  # type: ignore[method-assign]
        if wait_ready:
            system.wait_ready(timeout=ready_timeout)
        return system
    except BaseException:
        for proc in reversed(started):
            with contextlib.suppress(Exception):
                proc.stop()
        raise


def _stop_keeping(system: System, shared: NatsServer):
    def stop() -> None:
        with contextlib.suppress(Exception):
            stop_all(list(system.services.values()))
        with contextlib.suppress(Exception):
            system.caddy.stop()

    return stop
