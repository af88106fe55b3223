"""While NATS is down or electing a leader, a request that needs it answers 503 with
Retry-After and the JSON error envelope, never 500 (runtime/service.py)."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import nats.errors
import nats.js.errors
import pytest
from fastapi import APIRouter

from runtime.processes import REPO_ROOT
from runtime.service import NATS_UNAVAILABLE, create_app

RAISED = [
    nats.errors.TimeoutError(),
    nats.errors.NoRespondersError(),
    nats.errors.ConnectionClosedError(),
    nats.errors.NoServersError(),
    nats.errors.ConnectionReconnectingError(),
    nats.js.errors.ServiceUnavailableError(code=503, description="JetStream system temporarily unavailable"),
    nats.js.errors.NoStreamResponseError(),
]


def app_raising(exc: Exception | None):
    router = APIRouter()

    @router.post("/needs-nats")
    async def needs_nats() -> dict[str, str]:
        if exc is None:
            raise RuntimeError("a bug")
        raise exc

    runtime = SimpleNamespace(name="congress", settings=None, migrations=REPO_ROOT / "congress" / "migrations")
    return create_app(runtime, routers=[router], title="test")  # type: ignore[arg-type]


@pytest.mark.parametrize("exc", RAISED, ids=lambda e: type(e).__name__)
async def test_nats_unavailable_answers_503_with_retry_after(exc: Exception) -> None:
    assert isinstance(exc, NATS_UNAVAILABLE)
    transport = httpx.ASGITransport(app=app_raising(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/needs-nats", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "unavailable"


async def test_a_bug_is_still_a_500() -> None:
    transport = httpx.ASGITransport(app=app_raising(None), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/needs-nats")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


def test_js_before_the_first_connection_is_unavailable_not_a_crash() -> None:
    from runtime.service import ServiceRuntime

    runtime = ServiceRuntime.__new__(ServiceRuntime)  # no I/O: only the property is exercised
    with pytest.raises(NATS_UNAVAILABLE):
        _ = runtime.js
