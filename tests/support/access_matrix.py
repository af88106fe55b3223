"""Who may call what: one row per route of every service (tests/integration/test_access_matrix.py).

A new route without a row here fails the suite. Statuses: 401 no token, 403 wrong role, 404
another congress's resource (existence not leaked), 2xx the right caller. See
tests/support/matrix.py for the callers and for what `params`, `body`, `fresh`, `cookies` mean.
"""

from __future__ import annotations

from tests.support.matrix import Row


def _operator_rows(service: str) -> list[Row]:
    """Health, readiness, metrics and the AsyncAPI document: public (the proxy exposes them to operators)."""
    return [Row(service, "GET", path, 200, 200, 200, 200, public=True)
            for path in ("/healthz", "/readyz", "/metrics", "/asyncapi")]


def _whoami(service: str, path: str) -> Row:
    return Row(service, "GET", path, anonymous=401, wrong_role=200, other_congress=200, right_role=200)


ROWS: list[Row] = [
    *_operator_rows("congress"),
    *_operator_rows("documents"),
    *_operator_rows("signing"),
    # -- congress: sessions ----------------------------------------------------------------
    Row("congress", "POST", "/api/auth/login", 200, 200, 200, 200, public=True,
        body={"username": "admin", "password": "{admin_password}"}),
    Row("congress", "POST", "/api/auth/refresh", 401, 200, 200, 200, fresh=True, cookies=True),
    Row("congress", "POST", "/api/auth/reauth", 401, 200, 200, 200, fresh=True, body={"password": "{password}"}),
    Row("congress", "POST", "/api/auth/logout", 401, 200, 200, 200, fresh=True),
    Row("congress", "POST", "/api/auth/password", 401, 200, 200, 200, fresh=True,
        body={"old_password": "{password}", "new_password": "another-password-2"}),
    _whoami("congress", "/api/auth/me"),
    Row("congress", "POST", "/api/auth/keys/rotate", 401, 403, 403, 200),
    # -- congress: accounts (admin) ------------------------------------------------------------
    Row("congress", "POST", "/api/users", 401, 403, 403, 201,
        body={"username": "m-{unique}", "password": "matrix-password-2", "full_name": "Trần Văn Bình",
              "roles": ["signer"]}),
    Row("congress", "GET", "/api/users", 401, 403, 403, 200),
    Row("congress", "GET", "/api/users/{user_id}", 401, 403, 403, 200, params={"user_id": "new_user"}),
    Row("congress", "PATCH", "/api/users/{user_id}", 401, 403, 403, 200, params={"user_id": "new_user"},
        body={"full_name": "Lê Thị Hoa"}),
    Row("congress", "POST", "/api/users/{user_id}/deactivate", 401, 403, 403, 200, params={"user_id": "new_user"}),
    Row("congress", "POST", "/api/users/{user_id}/reset-password", 401, 403, 403, 200,
        params={"user_id": "new_user"}, body={"password": "reset-password-3"}),
    Row("congress", "GET", "/api/audit", 401, 403, 403, 200),
    # -- congress: congress staff (a secretary of that congress, or an admin) ----------------------
    Row("congress", "GET", "/api/congresses/{congress_id}/staff", 401, 404, 404, 200, right="secretary",
        params={"congress_id": "congress_a"}),
    Row("congress", "POST", "/api/congresses/{congress_id}/staff", 401, 403, 404, 201, right="secretary",
        params={"congress_id": "congress_a"}, body={"user_id": "{new_user}"}),
    Row("congress", "DELETE", "/api/congresses/{congress_id}/staff/{user_id}", 401, 403, 404, 200,
        right="secretary", params={"congress_id": "congress_a", "user_id": "staff_member"}),
    # -- documents ------------------------------------------------------------------------
    _whoami("documents", "/api/documents/me"),
    # -- signing --------------------------------------------------------------------------
    _whoami("signing", "/api/signing/me"),
]
