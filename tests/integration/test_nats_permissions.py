"""The per-service NATS users of deploy/nats/ on a real nats-server: restrictive and sufficient.

One node runs deploy/nats/single.conf, which includes the same accounts.conf as the cluster
nodes (the cluster parts stay in cluster.conf). Restrictive: with its own credentials the
documents service cannot publish on `signing.>` (core or JetStream: the server refuses and
the SIGNING stream stays empty), cannot pull from another service's consumer and cannot
write the token keys. Sufficient: the real services, started with their credentials, become
ready (their streams, consumers, KV watch and outbox relay are all set up), publish their
events and move blobs through the Object Store.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError

from congress.handlers.revocations import revocations, sweep
from contracts.streams import BLOB_BUCKET, SERVICE_STREAMS, SHARED_KV_BUCKET
from deploy.nats import permissions
from runtime.auth import REVOKED_PREFIX
from runtime.broker import ensure_jetstream
from runtime.processes import REPO_ROOT, NatsServer, ServiceProcess, wait_http_ok
from runtime.settings import SERVICES
from tests.support.system import database_env, service_env

SINGLE_NODE_CONF = REPO_ROOT / "deploy" / "nats" / "single.conf"


@dataclass
class SecuredNats:
    server: NatsServer
    passwords: dict[str, str]  # user -> password

    @property
    def url(self) -> str:
        return self.server.url


def nats_env(passwords: dict[str, str]) -> dict[str, str]:
    """The environment nats-server reads the users' passwords from."""
    env = {permissions.password_variable(s): passwords[s] for s in SERVICES}
    env["NATS_ADMIN_PASSWORD"] = passwords["admin"]
    return env


@pytest.fixture(scope="module")
def secured_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredNats]:
    root = tmp_path_factory.mktemp("secured-nats")
    passwords = {user: secrets.token_urlsafe(18) for user in (*SERVICES, "admin")}
    server = NatsServer(
        root / "store", log_path=root / "nats.log", config_file=SINGLE_NODE_CONF, env=nats_env(passwords)
    ).start()
    try:
        yield SecuredNats(server, passwords)
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def connect_as(secured: SecuredNats, user: str, errors: list[Exception] | None = None) -> AsyncIterator[NatsClient]:
    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(exc)

    nc = await nats.connect(
        secured.url,
        user=user,
        password=secured.passwords[user],
        inbox_prefix=permissions.inbox_prefix(user) if user in SERVICES else "_INBOX",
        error_cb=on_error,
        allow_reconnect=False,
    )
    try:
        yield nc
    finally:
        await nc.close()


@pytest.fixture(scope="module")
async def jetstream_ready(secured_nats: SecuredNats) -> None:
    """Streams and buckets as the services create them (by an operator here, once)."""
    async with connect_as(secured_nats, "admin") as nc:
        await ensure_jetstream(nc.jetstream(), replicas=1)


def permission_errors(errors: list[Exception], subject: str) -> list[str]:
    """The server's permission-violation errors naming `subject` (it sends them lower-cased)."""
    wanted = f'"{subject}"'.lower()
    return [str(e) for e in errors if "permissions violation" in str(e).lower() and wanted in str(e).lower()]


async def stream_messages(secured: SecuredNats, stream: str) -> int:
    async with connect_as(secured, "admin") as nc:
        return (await nc.jetstream().stream_info(stream)).state.messages


# --------------------------------------------------------------------------- the file itself


def test_accounts_conf_matches_the_code() -> None:
    current = permissions.ACCOUNTS_CONF.read_text(encoding="utf-8")
    assert current == permissions.render(), (
        "deploy/nats/accounts.conf is out of date with the subscriptions or streams: "
        "run `python -m deploy.nats.permissions` and review the diff"
    )


# --------------------------------------------------------------------------- restrictive


async def test_documents_cannot_publish_signing_events(secured_nats: SecuredNats, jetstream_ready: None) -> None:
    signing_stream = SERVICE_STREAMS["signing"].name
    before = await stream_messages(secured_nats, signing_stream)
    errors: list[Exception] = []
    async with connect_as(secured_nats, "documents", errors) as nc:
        js = nc.jetstream(timeout=1.5)
        with pytest.raises(NatsTimeoutError):  # the server drops it: no ack ever comes
            await js.publish("signing.request.completed", b"{}", headers={"Nats-Msg-Id": str(uuid.uuid4())})
        await nc.publish("signing.seal.applied", b"{}")
        await nc.flush()
        await asyncio.sleep(0.2)  # -ERR arrives asynchronously
        assert nc.is_connected, "a permission violation must not cost the service its connection"
    assert permission_errors(errors, "signing.request.completed"), errors
    assert permission_errors(errors, "signing.seal.applied"), errors
    assert await stream_messages(secured_nats, signing_stream) == before


async def test_documents_can_publish_its_own_events(secured_nats: SecuredNats, jetstream_ready: None) -> None:
    errors: list[Exception] = []
    async with connect_as(secured_nats, "documents", errors) as nc:
        ack = await nc.jetstream(timeout=5).publish(
            "documents.document.uploaded", b"{}", headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
    assert ack.stream == SERVICE_STREAMS["documents"].name
    assert not errors


async def test_a_service_cannot_pull_from_another_services_consumer(
    secured_nats: SecuredNats, jetstream_ready: None
) -> None:
    stream = SERVICE_STREAMS["congress"].name
    durable = "signing-test-congress"  # a consumer signing would own, created by an operator
    async with connect_as(secured_nats, "admin") as nc:
        await nc.jetstream().add_consumer(stream, durable_name=durable, ack_policy="explicit")
    errors: list[Exception] = []
    async with connect_as(secured_nats, "documents", errors) as nc:
        js = nc.jetstream(timeout=1.5)
        psub = await js.pull_subscribe_bind(durable=durable, stream=stream)
        with pytest.raises((NatsTimeoutError, TimeoutError)):
            await psub.fetch(1, timeout=1)
        await asyncio.sleep(0.2)
    assert permission_errors(errors, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"), errors


async def test_only_congress_writes_token_keys(secured_nats: SecuredNats, jetstream_ready: None) -> None:
    key = "auth.keys"
    errors: list[Exception] = []
    async with connect_as(secured_nats, "signing", errors) as nc:
        kv = await nc.jetstream(timeout=1.5).key_value(SHARED_KV_BUCKET)
        with pytest.raises(NatsTimeoutError):
            await kv.put(key, b'{"keys": []}')
        await asyncio.sleep(0.2)
    assert permission_errors(errors, f"$KV.{SHARED_KV_BUCKET}.{key}"), errors
    async with connect_as(secured_nats, "congress") as nc:
        kv = await nc.jetstream(timeout=5).key_value(SHARED_KV_BUCKET)
        revision = await kv.put(key, b'{"keys": []}')
        assert (await kv.get(key)).revision == revision


async def test_congress_sweeps_old_revocations_with_its_own_user(secured_nats: SecuredNats, jetstream_ready: None) -> None:
    """The revocation sweeper (congress/handlers/revocations.py) deletes keys and purges their
    delete markers: congress may, another service may not purge the bucket."""
    key = f"{REVOKED_PREFIX}sid.{uuid.uuid4()}"
    errors: list[Exception] = []
    async with connect_as(secured_nats, "congress", errors) as nc:
        kv = await nc.jetstream(timeout=5).key_value(SHARED_KV_BUCKET)
        await kv.put(key, b"1")
        assert await sweep(kv, time.time() + 10 * 24 * 3600) >= 1
        await kv.purge_deletes(olderthan=-1)
        assert key not in [entry.key for entry in await revocations(kv)]
    assert errors == []
    async with connect_as(secured_nats, "documents", errors) as nc:
        with pytest.raises(NatsTimeoutError):
            await nc.jetstream(timeout=1.5).purge_stream(f"KV_{SHARED_KV_BUCKET}")
        await asyncio.sleep(0.2)
    assert permission_errors(errors, f"$JS.API.STREAM.PURGE.KV_{SHARED_KV_BUCKET}"), errors


async def test_wrong_password_is_refused(secured_nats: SecuredNats) -> None:
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(secured_nats.url, user="documents", password="not-it", allow_reconnect=False,
                           max_reconnect_attempts=0, error_cb=_ignore)


async def _ignore(exc: Exception) -> None:
    pass


# --------------------------------------------------------------------------- sufficient


async def test_blob_writer_and_reader_through_the_object_store(
    secured_nats: SecuredNats, jetstream_ready: None
) -> None:
    """documents stores a blob bigger than one chunk; congress reads it back (ordered consumer,
    flow control) but may not store one."""
    blob = secrets.token_bytes(3 * 1024 * 1024 + 17)
    name = uuid.uuid4().hex
    async with connect_as(secured_nats, "documents") as nc:
        store = await nc.jetstream(timeout=5).object_store(BLOB_BUCKET)
        await store.put(name, blob)
    errors: list[Exception] = []
    async with connect_as(secured_nats, "congress", errors) as nc:
        store = await nc.jetstream(timeout=5).object_store(BLOB_BUCKET)
        assert (await store.get(name)).data == blob
        assert not errors, errors
        read_only = await nc.jetstream(timeout=1.5).object_store(BLOB_BUCKET)
        with pytest.raises(NatsTimeoutError):
            await read_only.put(uuid.uuid4().hex, b"x")


@pytest.fixture(scope="module")
def services_with_credentials(
    secured_nats: SecuredNats, jetstream_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    """The three real services, each with its own NATS user (no operator-created streams needed)."""
    data_dir = tmp_path_factory.mktemp("services-with-credentials")
    procs: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            env = {
                **database_env(name),
                **service_env(name, secured_nats.url, data_dir),
                "NATS_USER": name,
                "NATS_PASSWORD": secured_nats.passwords[name],
            }
            procs[name] = ServiceProcess(name, env=env, log_path=data_dir / "logs" / f"{name}.log").start(wait=False)
        for proc in procs.values():
            proc.wait_ready(timeout=90)
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.mark.parametrize("service", SERVICES)
def test_service_becomes_ready_with_its_own_credentials(
    services_with_credentials: dict[str, ServiceProcess], service: str
) -> None:
    proc = services_with_credentials[service]
    try:
        wait_http_ok([f"{proc.url}/readyz"], timeout=60)
    except Exception:
        pytest.fail(f"{service} not ready with its NATS user:\n{proc.log_tail(30)}")
    body = httpx.get(f"{proc.url}/readyz", timeout=5).json()
    assert body["checks"] == {"database": True, "nats": True}
    log = Path(proc.log_path).read_text(encoding="utf-8", errors="replace")
    assert "permissions violation" not in log.lower(), proc.log_tail(30)
