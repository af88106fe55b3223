"""The operators' endpoints of every real service through Caddy (`/<service>/healthz`, `/readyz`,
`/metrics`, `/openapi.json`, `/asyncapi`), and the request counter moving in `/<service>/metrics`
when an API route is called through the entry point.

(tests/integration/test_caddy_accel.py checks the Caddyfile's routing against stand-in upstreams;
here the upstreams are the services themselves.)
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.settings import SERVICES
from tests.support.system import System

# A route of each service that answers without a token (401), with a path parameter so that the
# label is seen to be the route's template, not the path asked for.
PROBES = {
    "congress": ("/api/congresses/{congress_id}/delegates", "/api/congresses/{}/delegates"),
    "documents": ("/api/documents/{document_id}", "/api/documents/{}"),
    "signing": ("/api/signing/requests/{request_id}", "/api/signing/requests/{}"),
}
CALLS = 3


def metric(client: httpx.Client, prefix: str, sample: str, **labels: str) -> float:
    """Sum of the `sample` values in `/<prefix>/metrics` whose labels include `labels` (with
    Prometheus' own parser: route templates hold braces)."""
    text = client.get(f"/{prefix}/metrics").raise_for_status().text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == sample and labels.items() <= s.labels.items())


@pytest.fixture(scope="module")
def entry(system: System) -> httpx.Client:
    with httpx.Client(base_url=system.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("service", SERVICES)
def test_health_readiness_and_documents_through_caddy(entry: httpx.Client, service: str) -> None:
    assert entry.get(f"/{service}/healthz").status_code == 200
    ready = entry.get(f"/{service}/readyz")
    assert ready.status_code == 200, ready.text

    openapi = entry.get(f"/{service}/openapi.json")
    assert openapi.status_code == 200
    paths = openapi.json()["paths"]
    assert PROBES[service][0] in paths  # this service's document, not another's

    asyncapi = entry.get(f"/{service}/asyncapi")
    assert asyncapi.status_code == 200
    document = asyncapi.json()
    assert document.get("asyncapi") and document.get("channels"), document

    metrics = entry.get(f"/{service}/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert f'service="{service}"' in metrics.text


@pytest.mark.parametrize("service", SERVICES)
def test_request_counter_moves_for_the_route_called(entry: httpx.Client, service: str) -> None:
    template, path = PROBES[service]
    labels = {"service": service, "method": "GET", "route": template, "status": "401"}
    before = metric(entry, service, "http_requests_total", **labels)
    latency_before = metric(entry, service, "http_request_duration_seconds_count", service=service, route=template)
    asked = [str(uuid.uuid4()) for _ in range(CALLS)]
    for object_id in asked:
        assert entry.get(path.format(object_id)).status_code == 401
    assert metric(entry, service, "http_requests_total", **labels) == before + CALLS
    assert metric(entry, service, "http_request_duration_seconds_count", service=service, route=template) == (
        latency_before + CALLS)
    # the ids asked for never become labels: one series per route, however many objects
    text = entry.get(f"/{service}/metrics").text
    assert not any(object_id in text for object_id in asked)
