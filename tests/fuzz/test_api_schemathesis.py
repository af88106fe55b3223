"""API fuzzing with schemathesis: every operation of every service's OpenAPI document (served by
the running system at /<service>/openapi.json), once per role with real tokens, on seeded data (a
congress with delegates, documents, a publication, signature requests: tests/support/matrix.py).

Path parameters that name a seeded resource are mostly set to it, so that most cases get past
authentication and lookup; the rest of each case is generated. Checks: no 5xx, and no response
that breaks the schema the service itself publishes. The share of 2xx is printed.

Operations left out: the ones that end the caller's own session (logout, password change, key
rotation) and the server-sent event streams (they never end).
CI runs a few examples per operation; `-m slow` runs many.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.support.matrix import World
from tests.support.system import System, start_system

ROLES = ("admin", "secretary", "signer", "archivist")
SKIPPED = {("POST", "/api/auth/logout"), ("POST", "/api/auth/password"), ("POST", "/api/auth/keys/rotate")}
SEEDED_SHARE = 0.8


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[System, World, dict[str, str]]]:
    system = start_system(tmp_path_factory.mktemp("api-fuzz"))
    try:
        world = World(system)
        seeded = {
            "congress_id": world.congress_a,
            "delegate_id": world.param("delegate"),
            "item_id": world.param("agenda_item"),
            "publication_id": world.param("publication"),
            "token": world.param("publication_token"),
            "request_id": world.param("signing_request"),
            "document_id": world.shared_signing_request()["document_id"],
            "code": world.param("verification_code"),
        }
        yield system, world, seeded
        world.close()
    finally:
        system.stop()


def operations(system: System, service: str) -> list:  # type: ignore[type-arg]
    schema = schemathesis.openapi.from_url(f"{system.url}/{service}/openapi.json")
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED or operation.path.endswith("/events"):
            continue
        found.append(operation)
    return found


def fuzz(service: str, fuzz_world: tuple[System, World, dict[str, str]], max_examples: int) -> Counter:
    system, world, seeded = fuzz_world
    statuses: Counter = Counter()
    failures: list[str] = []
    rng = random.Random(11)
    session = requests.Session()
    for operation in operations(system, service):
        for role in ROLES:
            token = world.callers[role].token

            @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def run(case) -> None:  # type: ignore[no-untyped-def]
                for name in list(case.path_parameters or {}):
                    if name in seeded and rng.random() < SEEDED_SHARE:
                        case.path_parameters[name] = seeded[name]
                response = case.call(base_url=system.url, session=session, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"})
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                except Exception as exc:  # noqa: BLE001 - collected, reported together
                    failures.append(f"{role} {operation.method.upper()} {operation.path} -> "
                                    f"{response.status_code}: {str(exc)[:600]}")

            run()
    total = sum(statuses.values())
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    print(f"\n{service}: {total} cases, 2xx {ok} ({ok / max(total, 1):.0%}), statuses {dict(sorted(statuses.items()))}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures))[:20])
    return statuses


@pytest.mark.parametrize("service", ["congress", "documents", "signing"])
def test_api_fuzz_short(service: str, fuzz_world) -> None:  # type: ignore[no-untyped-def]
    fuzz(service, fuzz_world, max_examples=int(os.environ.get("FUZZ_EXAMPLES", "3")))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("service", ["congress", "documents", "signing"])
def test_api_fuzz_long(service: str, fuzz_world) -> None:  # type: ignore[no-untyped-def]
    fuzz(service, fuzz_world, max_examples=50)
