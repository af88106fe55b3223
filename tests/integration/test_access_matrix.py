"""The role x endpoint matrix: every route of every service (from the apps' routes, not OpenAPI)
has a row in tests/support/access_matrix.py, and each row holds against the real system for
no token, a wrong role, another congress's staff, and the right caller."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.access_matrix import ROWS
from tests.support.matrix import CALLERS, World, app_routes, row_suggestion
from tests.support.system import System


def test_every_route_has_a_row() -> None:
    rows = {row.key for row in ROWS}
    missing = sorted(app_routes() - rows)
    assert not missing, "routes without a row in tests/support/access_matrix.py; add:\n" + "\n".join(
        f"    {row_suggestion(*key)}," for key in missing
    )


def test_every_row_has_a_route() -> None:
    stale = sorted({row.key for row in ROWS} - app_routes())
    assert not stale, f"rows for routes that no longer exist (remove them from tests/support/access_matrix.py): {stale}"


def test_rows_are_unique() -> None:
    keys = [row.key for row in ROWS]
    assert len(keys) == len(set(keys)), "two rows for the same route"


def test_only_public_rows_let_anonymous_in() -> None:
    for row in ROWS:
        if not row.public:
            assert row.anonymous == 401, f"{row.key}: a non-public route must refuse anonymous callers with 401"


@pytest.fixture(scope="module")
def world(system: System) -> Iterator[World]:
    made = World(system)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.service} {r.method} {r.path}")
def test_access(world: World, row, caller: str) -> None:  # type: ignore[no-untyped-def]
    response = world.call(row, caller)
    assert response.status_code == row.expected(caller), (
        f"{row.service} {row.method} {row.path} as {caller}: expected {row.expected(caller)}, "
        f"got {response.status_code}: {response.text[:300]}"
    )
    if response.status_code >= 400 and not row.page:
        assert "error" in response.json(), "errors use the {'error': {'code', 'message'}} envelope"
