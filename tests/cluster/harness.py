"""The production topology without Docker: what compose.yaml runs, as local processes.

Three nats-servers from deploy/nats/n1.conf..n3.conf (addresses overridden to loopback
ports, the per-service users of accounts.conf with passwords made per run), PostgreSQL
databases created per run on 127.0.0.1:5432 and dropped after, every service twice (each
with its own NATS user, STREAM_REPLICAS=3) and Caddy in front with both instances of each
service as upstreams.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
from nats.aio.client import Client as NatsClient

from deploy.nats import permissions
from runtime.processes import REPO_ROOT, Caddy, NatsCluster, ServiceProcess, free_port, stop_all, wait_http_ok
from runtime.settings import SERVICES
from tests.support.system import ADMIN_PASSWORD, ADMIN_USERNAME, PostgresDatabases

NODE_CONFIGS = [REPO_ROOT / "deploy" / "nats" / f"n{i}.conf" for i in (1, 2, 3)]


@dataclass
class ClusterSystem:
    root: Path
    nats: NatsCluster
    passwords: dict[str, str]
    databases: PostgresDatabases
    caddy: Caddy
    services: dict[str, list[ServiceProcess]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.caddy.url

    @contextlib.asynccontextmanager
    async def admin(self) -> AsyncIterator[NatsClient]:
        """An operator connection (the `admin` user) to any live node."""
        live = [node.url for node in self.nats.nodes if node.running]
        nc = await nats.connect(live, user="admin", password=self.passwords["admin"], connect_timeout=2,
                                max_reconnect_attempts=5, reconnect_time_wait=0.5)
        try:
            yield nc
        finally:
            await nc.close()

    def stream_leader(self, stream: str) -> str:
        async def leader() -> str:
            async with self.admin() as nc:
                info = await nc.jetstream(timeout=5).stream_info(stream)
                return info.cluster.leader
        return asyncio.run(leader())

    def all_processes(self) -> list:
        return [p for procs in self.services.values() for p in procs]

    def wait_ready(self, timeout: float = 120.0) -> None:
        wait_http_ok([f"{p.url}/readyz" for p in self.all_processes()], timeout=timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            stop_all(self.all_processes())
        with contextlib.suppress(Exception):
            self.caddy.stop()
        with contextlib.suppress(Exception):
            self.nats.stop()
        self.databases.drop_all()


def nats_env(passwords: dict[str, str]) -> dict[str, str]:
    env = {permissions.password_variable(s): passwords[s] for s in SERVICES}
    env["NATS_ADMIN_PASSWORD"] = passwords["admin"]
    return env


def start_nats_cluster(root: Path, passwords: dict[str, str] | None = None) -> tuple[NatsCluster, dict[str, str]]:
    passwords = passwords or {user: secrets.token_hex(12) for user in (*SERVICES, "admin")}
    cluster = NatsCluster(root / "nats", config_files=NODE_CONFIGS, env=nats_env(passwords)).start()
    return cluster, passwords


def start_cluster_system(root: Path, *, instances: int = 2, extra_env: dict[str, str] | None = None) -> ClusterSystem:
    root.mkdir(parents=True, exist_ok=True)
    logs = root / "logs"
    data_dir = root / "data"  # shared by the instances, as the blob cache volume is in compose
    cluster, passwords = start_nats_cluster(root)
    databases = PostgresDatabases()
    ports = {name: [free_port() for _ in range(instances)] for name in SERVICES}
    caddy = Caddy(
        port=free_port(),
        upstreams={name: " ".join(f"127.0.0.1:{p}" for p in ports[name]) for name in SERVICES},
        blob_root=data_dir / "blobcache",
        state_dir=root / "caddy",
        log_path=logs / "caddy.log",
    )
    system = ClusterSystem(root, cluster, passwords, databases, caddy)
    try:
        for name in SERVICES:
            env = {
                "NATS_URL": cluster.url,
                "NATS_USER": name,
                "NATS_PASSWORD": passwords[name],
                "STREAM_REPLICAS": "3",
                f"{name.upper()}_DATABASE_URL": databases.create(name),
                "DATA_DIR": str(data_dir.resolve()),
                "PUBLIC_BASE_URL": caddy.url,
                "ADMIN_USERNAME": ADMIN_USERNAME,
                "ADMIN_PASSWORD": ADMIN_PASSWORD,
                "LOG_FORMAT": "json",
                **(extra_env or {}),
            }
            system.services[name] = [
                ServiceProcess(name, port=port, env=env, log_path=logs / f"{name}-{i + 1}.log")
                for i, port in enumerate(ports[name])
            ]
        # First instances together (one of them runs the migrations and creates the admin),
        # then the others: they start on a migrated database, as a rolling deploy would.
        for wave in range(instances):
            batch = [procs[wave] for procs in system.services.values()]
            for proc in batch:
                proc.start(wait=False)
            for proc in batch:
                proc.wait_ready(timeout=120)
            wait_http_ok([f"{p.url}/readyz" for p in batch], timeout=120)
        caddy.start()
        return system
    except BaseException:
        system.stop()
        raise


def openapi_routes(system: ClusterSystem) -> set[tuple[str, str, str]]:
    """(service, METHOD, path template) of every route the running services serve."""
    routes = set()
    with httpx.Client(base_url=system.url, timeout=30) as client:
        for name in SERVICES:
            document = client.get(f"/{name}/openapi.json").raise_for_status().json()
            for path, operations in document["paths"].items():
                routes.update((name, method.upper(), path) for method in operations)
    return routes
