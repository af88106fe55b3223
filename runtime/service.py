"""One service process: its database, NATS connection, outbox relay, consumers and FastAPI app.

`bootstrap()` in each service's main.py is the only place that wires these together.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import nats.errors
import nats.js.errors
import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime import context, i18n, metrics
from runtime.asyncapi import asyncapi_document
from runtime.auth import TokenVerifier
from runtime.broker import connect_with_retry, ensure_jetstream, make_broker
from runtime.db import Database
from runtime.errors import ApiError
from runtime.inbox import InboxConsumer, Subscription
from runtime.logs import configure_logging, redact_path
from runtime.migrations import upgrade
from runtime.outbox import OutboxRelay
from runtime.settings import ServiceSettings

log = structlog.get_logger()

NO_OPENTELEMETRY = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's native OpenTelemetry is off: the services export Prometheus metrics and JSON logs,
and with it on FastAPI asks on every request whether a provider has been configured since
(~4 us of a 30 us request, in-process)."""

Hook = Callable[["ServiceRuntime"], Awaitable[None]]

NATS_UNAVAILABLE: tuple[type[Exception], ...] = (
    nats.errors.TimeoutError,  # no answer in time: a leader election, a node that just died
    nats.errors.NoRespondersError,  # JetStream has no leader for the stream yet
    nats.errors.StaleConnectionError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.NoServersError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.ServerError,
    nats.js.errors.NoStreamResponseError,
)
"""NATS errors an HTTP request may meet while NATS is down or electing: answered 503 with
Retry-After, never 500 (the client tries again; nothing was half-written)."""


def database_unavailable(exc: Exception) -> bool:
    """The database is away (restarting, unreachable, a connection cut) or busy: the transaction
    rolled back, so 503 with Retry-After is the truth. A bug in SQL (a missing table, a broken
    statement) stays a 500."""
    if isinstance(exc, (sqlalchemy.exc.DisconnectionError, sqlalchemy.exc.TimeoutError, sqlalchemy.exc.InterfaceError)):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sqlalchemy.exc.OperationalError):
            original = exc.orig
            if type(original).__module__.startswith("psycopg"):
                return True  # psycopg's OperationalError: connection refused, closed, admin shutdown
            return "locked" in str(original) or "busy" in str(original)  # SQLite's busy writer
    return False


@dataclass
class ServiceRuntime:
    """What a running service holds. Handlers get what they need from it, never a global."""

    name: str
    settings: ServiceSettings
    db: Database
    subscriptions: list[Subscription]
    publishes: ModuleType
    migrations: Path
    on_db_ready: list[Hook] = field(default_factory=list)
    on_nats_ready: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    """Run first at shutdown, while the database and NATS are still up (flush what is held in memory)."""
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.broker = make_broker(
            self.settings.nats_servers,
            name=f"{self.name}-{uuid.uuid4().hex[:6]}",
            user=self.settings.nats_user,
            password=self.settings.nats_password,
            creds=self.settings.nats_creds,
            inbox_prefix=self.settings.resolved_nats_inbox_prefix(),
        )
        self.relay = OutboxRelay(self.db, self.name, keep_sent=timedelta(days=self.settings.outbox_keep_days))
        self.consumers = [
            InboxConsumer(
                self.name, self.db, sub, max_deliveries=self.settings.max_deliveries,
                ack_wait=self.settings.consumer_ack_wait,
            )
            for sub in self.subscriptions
        ]
        self.auth = TokenVerifier()
        self.extras["auth"] = self.auth
        self.nats_started = asyncio.Event()
        self._start_task: asyncio.Task[None] | None = None

    @property
    def nc(self) -> NatsClient:
        return self.broker.connection

    @property
    def js(self) -> JetStreamContext:
        try:
            return self._js
        except AttributeError:  # a request that needs NATS before the first connection: 503
            raise nats.errors.NoServersError() from None

    @property
    def nats_ready(self) -> bool:
        return self.nats_started.is_set() and self.nc is not None and self.nc.is_connected

    async def start(self) -> None:
        await asyncio.to_thread(upgrade, self.migrations, self.settings.resolved_database_url())
        for hook in self.on_db_ready:
            await hook(self)
        self._start_task = asyncio.create_task(self._start_nats(), name=f"{self.name}-nats-start")

    async def _start_nats(self) -> None:
        await connect_with_retry(self.broker)
        self._js = self.nc.jetstream()
        while True:
            try:
                await ensure_jetstream(self._js, self.settings.stream_replicas, owner=self.name)
                await self.auth.watch(self._js)
                for consumer in self.consumers:
                    await consumer.start(self.nc, self._js)
                break
            except Exception as exc:  # noqa: BLE001 - JetStream not ready yet (cluster electing)
                log.warning("nats.setup_failed", error=str(exc) or type(exc).__name__)
                await asyncio.sleep(1)
        self.relay.start(self.nc)
        for hook in self.on_nats_ready:
            await hook(self)
        self.nats_started.set()
        log.info("service.nats_ready", consumers=[c.durable for c in self.consumers])

    async def stop(self) -> None:
        if self._start_task and not self._start_task.done():
            self._start_task.cancel()
        for hook in self.on_stop:
            try:
                await hook(self)
            except Exception as exc:  # noqa: BLE001 - one failing hook must not keep the rest from stopping
                log.warning("service.stop_hook_failed", hook=getattr(hook, "__name__", repr(hook)),
                            error=str(exc) or type(exc).__name__)
        await self.relay.stop()
        await self.auth.stop()
        for consumer in self.consumers:
            await consumer.stop()
        try:
            await self.broker.stop()
        except Exception:  # noqa: BLE001 - already disconnected
            pass
        await self.db.dispose()


def language_of(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), request.cookies.get("lang"))


def error_response(request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   **params: Any) -> JSONResponse:
    text = i18n.gettext(message, language_of(request), **params)
    return JSONResponse({"error": {"code": code, "message": text}}, status_code=status, headers=headers)


class RequestContextMiddleware:
    """One log line and one metric sample per request, with a correlation id (X-Request-ID)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
                break
        correlation_id = request_id or context.new_correlation_id()
        token = context.correlation_id.set(correlation_id)
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            status = status_holder["status"]
            metrics.HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, method, template).observe(elapsed)
            if template not in ("/healthz", "/metrics"):
                client = scope.get("client")
                log.info(
                    "http.request",
                    method=method,
                    path=redact_path(scope.get("path", "")),
                    status=status,
                    latency_ms=round(elapsed * 1000, 2),
                    client=client[0] if client else None,
                )
            structlog.contextvars.unbind_contextvars("correlation_id")
            context.correlation_id.reset(token)


def create_app(runtime: ServiceRuntime, routers: list[Any], title: str, version: str = "0.1.0") -> FastAPI:
    settings = runtime.settings
    i18n.add_catalogue_dir(runtime.migrations.parent / "locale")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging(runtime.name, settings.log_format, settings.log_level)
        await runtime.start()
        log.info("service.started", port=settings.service_port, database=runtime.db.url.split("://", 1)[0])
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service.stopped")

    app = FastAPI(title=title, version=version, lifespan=lifespan, telemetry=NO_OPENTELEMETRY)
    app.state.runtime = runtime

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = {"database": False, "nats": runtime.nats_ready}
        try:
            await asyncio.wait_for(runtime.db.ping(), timeout=2)
            checks["database"] = True
        except Exception:  # noqa: BLE001 - reported as not ready
            pass
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    asyncapi_cache: dict[str, Any] = {}

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        if "doc" not in asyncapi_cache:
            asyncapi_cache["doc"] = asyncapi_document(runtime.name, version, runtime.publishes, runtime.subscriptions)
        return JSONResponse(asyncapi_cache["doc"])

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.code, exc.message, exc.headers, **exc.params)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        language = language_of(request)
        problems = []
        for err in exc.errors()[:5]:
            field_name = ".".join(str(p) for p in err.get("loc", ())[1:]) or "body"
            problems.append(i18n.gettext("Field '{field}': {problem}", language, field=field_name, problem=err.get("msg", "")))
        text = i18n.gettext("The request is not valid.", language) + " " + "; ".join(problems)
        return JSONResponse({"error": {"code": "validation_failed", "message": text.strip()}}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(request, 404, "not_found", "Not found.")
        if exc.status_code == 405:
            return error_response(request, 405, "method_not_allowed", "Method not allowed.")
        return error_response(request, exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, NATS_UNAVAILABLE) or database_unavailable(exc):
            return error_response(request, 503, "unavailable",
                                  "The service is temporarily unavailable. Please try again in a moment.",
                                  {"Retry-After": "5"})
        log.error("http.unhandled", error=str(exc), exc_info=exc)
        return error_response(request, 500, "internal_error", "An unexpected error occurred. Please try again.")

    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestContextMiddleware, service=runtime.name)
    return app
