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


def _archive(method: str, path: str, right_role: int, right: str = "archivist", **kwargs: object) -> Row:
    """Archive routes: archivists (and admins) only; nobody else, whatever congress they work on.
    Record routes name congress A, which has no record in the matrix world: 404 for the right caller."""
    return Row("documents", method, path, anonymous=401, wrong_role=403, other_congress=403, right_role=right_role,
               right=right, **kwargs)  # type: ignore[arg-type]


MATRIX_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIB6zCCAZGgAwIBAgIUIZiCRncGi2Jo7hzdGGJkM5pseSYwCgYIKoZIzj0EAwIw
YzEuMCwGA1UECgwlSOG7mWkgQ+G7sXUgY2hp4bq/biBiaW5oIHThu4luaCBN4bqr
dTExMC8GA1UEAwwoQ0EgSOG7mWkgQ+G7sXUgY2hp4bq/biBiaW5oIHThu4luaCBN
4bqrdTAeFw0yNjExMjgwMTAyMjRaFw0zNjExMjYwMTAyMjRaMGMxLjAsBgNVBAoM
JUjhu5lpIEPhu7F1IGNoaeG6v24gYmluaCB04buJbmggTeG6q3UxMTAvBgNVBAMM
KENBIEjhu5lpIEPhu7F1IGNoaeG6v24gYmluaCB04buJbmggTeG6q3UwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASSkrXR7Fk/4N2rn3uuZQr+38h5R89FEh2fL5M/
YrjDoGK2ArT6d1W/EC3oFw7M+2YjLkSr95IttcZGzJX0VcgXoyMwITAPBgNVHRMB
Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBhjAKBggqhkjOPQQDAgNIADBFAiAbDKAR
KC37jxkzq00kITXGCQ8VtUb7hR/Ku3OXX8Br/QIhAK+uU7rQfzoLHz2cHFEY6y4N
Y+yMKzniHrmCn3oKbBRm
-----END CERTIFICATE-----
"""
"""A CA certificate (made once for these rows) that the admin registers as trusted."""


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
    Row("congress", "POST", "/api/users/{user_id}/reactivate", 401, 403, 403, 200, params={"user_id": "new_user"}),
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
    # -- congress: congresses, agenda, roster, badges, publications (secretary of congress A) ---------
    Row("congress", "POST", "/api/congresses", 401, 403, 201, 201, right="secretary",
        body={"title": "Đại hội {unique}", "quorum": 0.5}),
    Row("congress", "GET", "/api/congresses", 401, 403, 200, 200, right="secretary"),
    *[Row("congress", method, "/api/congresses/{congress_id}" + path, 401, 403, 404, status, right="secretary",
          params={"congress_id": "congress_a"}, body=body)
      for method, path, status, body in (
          ("GET", "", 200, None),
          ("PATCH", "", 200, {"venue": "Hội trường {unique}"}),
          ("POST", "/open", 200, None),
          ("GET", "/agenda", 200, None),
          ("POST", "/agenda", 201, {"title": "Thảo luận văn kiện"}),
          ("PUT", "/agenda/order", 200, {"ids": "{agenda_order}"}),
          ("GET", "/delegates", 200, None),
          ("POST", "/delegates", 201, {"full_name": "Trần Thị Lan {unique}", "unit": "Chi hội 2"}),
          ("GET", "/badges.pdf", 200, None),
          ("GET", "/publications", 200, None),
          ("POST", "/publications", 201, {"document_id": "{approved_document}", "audience": "public"}),
      )],
    Row("congress", "POST", "/api/congresses/{congress_id}/delegates/import", 401, 403, 404, 200, right="secretary",
        params={"congress_id": "congress_a"},
        files={"file": ("danh-sach.csv", "Họ và tên,Đơn vị\nNguyễn Thị Lụa {unique},Chi hội 1\n", "text/csv")}),
    *[Row("congress", method, "/api/congresses/{congress_id}/agenda/{item_id}", 401, 403, 404, status,
          right="secretary", params={"congress_id": "congress_a", "item_id": "agenda_item"}, body=body)
      for method, status, body in (("PATCH", 200, {"title": "Báo cáo kiểm điểm"}), ("DELETE", 204, None))],
    *[Row("congress", method, "/api/congresses/{congress_id}/delegates/{delegate_id}" + path, 401, 403, 404, status,
          right="secretary", params={"congress_id": "congress_a", "delegate_id": "delegate"}, body=body)
      for method, path, status, body in (
          ("GET", "", 200, None),
          ("PATCH", "", 200, {"unit": "Chi hội 5"}),
          ("DELETE", "", 204, None),
          ("POST", "/reissue", 200, None),
      )],
    *[Row("congress", method, "/api/congresses/{congress_id}/publications/{publication_id}" + path, 401, 403, 404,
          200, right="secretary", params={"congress_id": "congress_a", "publication_id": publication})
      for method, path, publication in (
          ("GET", "", "publication"),
          ("GET", "/qr.png", "publication"),
          ("GET", "/qr.svg", "publication"),
          ("GET", "/poster.pdf", "publication"),
          ("POST", "/revoke", "fresh_publication"),
      )],
    # -- congress: delegate pages (the token in the link is the key; staff tokens change nothing) --
    Row("congress", "GET", "/q/{token}", 200, 200, 200, 200, public=True, params={"token": "publication_token"}),
    Row("congress", "GET", "/q/{token}/file", 200, 200, 200, 200, public=True,
        params={"token": "publication_token"}),
    Row("congress", "GET", "/d/{token}", 200, 200, 200, 200, public=True, params={"token": "delegate_token"}),
    Row("congress", "GET", "/d/{token}/events", 200, 200, 200, 200, public=True, stream=True,
        params={"token": "delegate_token"}),
    # -- documents ------------------------------------------------------------------------
    _whoami("documents", "/api/documents/me"),
    # staff of congress A read, its secretaries write; the wrong role is a signer who is staff of no
    # congress: refused writing (403) before anything, and reading finds nothing (404, not leaked)
    Row("documents", "POST", "/api/documents", 401, 403, 404, 201, right="secretary",
        form={"congress_id": "{documents_congress_a}", "title": "Báo cáo tổng kết {unique}", "kind": "report"},
        files={"file": ("bao-cao.pdf", "{pdf}", "application/pdf")}),
    Row("documents", "POST", "/api/documents/{document_id}/versions", 401, 403, 404, 201, right="secretary",
        params={"document_id": "uploaded_document"}, files={"file": ("ban-sua.pdf", "{pdf}", "application/pdf")}),
    Row("documents", "POST", "/api/documents/{document_id}/approve", 401, 403, 404, 200, right="secretary",
        params={"document_id": "draft_reference"}),
    Row("documents", "GET", "/api/documents", 401, 404, 404, 200, right="secretary",
        query={"congress_id": "documents_congress_a"}),
    Row("documents", "GET", "/api/documents/{document_id}", 401, 404, 404, 200, right="secretary",
        params={"document_id": "uploaded_document"}),
    Row("documents", "GET", "/api/documents/{document_id}/file", 401, 404, 404, 200, right="secretary",
        params={"document_id": "approved_upload"}),  # no version asked: the latest approved one
    Row("documents", "GET", "/api/documents/renders/{congress_id}/{name}.pdf", 401, 404, 404, 200,
        right="secretary", params={"congress_id": "documents_congress_a", "name": "minutes"}),
    # -- documents: the archive --------------------------------------------------------------
    _archive("GET", "/api/archive/records", 200),
    _archive("GET", "/api/archive/records/{congress_id}", 404, params={"congress_id": "congress_a"}),
    _archive("GET", "/api/archive/records/{congress_id}/package", 404, params={"congress_id": "congress_a"}),
    _archive("GET", "/api/archive/records/{congress_id}/files/{path:path}", 404,
             params={"congress_id": "congress_a", "path:path": "data/record.json"}),
    _archive("POST", "/api/archive/records/{congress_id}/verify", 404, params={"congress_id": "congress_a"}),
    _archive("POST", "/api/archive/import", 415, body={"file": "not multipart"}),
    _archive("GET", "/api/archive/trusted-cas", 200, right="admin"),
    _archive("POST", "/api/archive/trusted-cas", 201, right="admin", body={"pem": MATRIX_CA_PEM}),
    _archive("GET", "/archive", 200),
    _archive("GET", "/archive/records/{congress_id}", 404, params={"congress_id": "congress_a"}),
    _archive("POST", "/archive/records/{congress_id}/verify", 404, params={"congress_id": "congress_a"}),
    # -- signing --------------------------------------------------------------------------
    _whoami("signing", "/api/signing/me"),
    # the CA and its CRL, and verification, are for anyone who validates a signature
    Row("signing", "GET", "/api/signing/ca.pem", 200, 200, 200, 200, public=True),
    Row("signing", "GET", "/api/signing/crl", 200, 200, 200, 200, public=True),
    Row("signing", "POST", "/api/signing/verify", 200, 200, 200, 200, public=True,
        files={"file": ("a.pdf", "%PDF-1.7 không phải tệp PDF thật {unique}", "application/pdf")}),
    Row("signing", "GET", "/verify/{code}", 200, 200, 200, 200, public=True, page=True,
        params={"code": "verification_code"}),
    Row("signing", "POST", "/verify/file", 200, 200, 200, 200, public=True, page=True,
        files={"file": ("a.pdf", "%PDF-1.7 không phải tệp PDF thật {unique}", "application/pdf")}),
    # requests: a secretary (staff of the congress) asks; the list shows each caller what they may see
    Row("signing", "POST", "/api/signing/requests", 401, 403, 404, 200, right="secretary",
        body={"document_id": "{signing_document}", "version": 1,
              "signers": [{"username": "{signing_signer}", "role": "signer"}]}),  # identical repeat: 200
    Row("signing", "GET", "/api/signing/requests", 401, 200, 200, 200, right="secretary"),
    # one request of congress A: its staff and its signers see it; anyone else gets 404 (not leaked).
    # The wrong role is an archivist: the world's signer holds the request's slot.
    *[Row("signing", "GET", path, 401, 404, 404, 200, right="secretary", wrong="archivist",
          params={"request_id": "signing_request"}, page=path.startswith("/sign/"))
      for path in ("/api/signing/requests/{request_id}", "/api/signing/requests/{request_id}/document",
                   "/sign/{request_id}")],
    # acting on a fresh request: the signer whose turn it is signs or rejects; the requester cancels
    Row("signing", "POST", "/api/signing/requests/{request_id}/sign", 401, 404, 404, 200, right="signer",
        wrong="archivist", params={"request_id": "new_signing_request"}),
    Row("signing", "POST", "/api/signing/requests/{request_id}/reject", 401, 404, 404, 200, right="signer",
        wrong="archivist", params={"request_id": "new_signing_request"}, body={"reason": "Sai số liệu trang 2"}),
    Row("signing", "POST", "/api/signing/requests/{request_id}/cancel", 401, 404, 404, 200, right="secretary",
        wrong="archivist", params={"request_id": "new_signing_request"}),
]


# -- congress: the day of the congress (check-in, attendance, closing, personal data, console) --
# Console pages and /c/ answer browsers (Accept: text/html) with pages and redirects, and other
# clients with the API's statuses and JSON envelope, which is what these rows check. Rows that
# would close congress A or sign anyone in for real use a random congress or delegate instead.

_A = {"congress_id": "congress_a"}
_RANDOM = {"congress_id": "random"}


def _secretary(method: str, path: str, right_role: int, params: dict[str, str] | None = None, **kwargs: object) -> Row:
    return Row("congress", method, path, 401, 403, 404, right_role, right="secretary", params=params or _A,
               **kwargs)  # type: ignore[arg-type]


ROWS += [
    _secretary("POST", "/api/congresses/{congress_id}/checkins", 404, body={"delegate_id": "{new_user}"}),
    _secretary("POST", "/api/congresses/{congress_id}/checkins/{delegate_id}/undo", 200,
               {**_A, "delegate_id": "delegate"}, body={"reason": "Nhầm người"}),
    _secretary("GET", "/api/congresses/{congress_id}/checkins/candidates", 200),
    _secretary("GET", "/api/congresses/{congress_id}/attendance", 200),
    _secretary("GET", "/api/congresses/{congress_id}/attendance/events", 200, stream=True),
    _secretary("GET", "/api/congresses/{congress_id}/signature-requests", 200),
    _secretary("POST", "/api/congresses/{congress_id}/close", 404, _RANDOM),
    Row("congress", "GET", "/api/congresses/{congress_id}/delegates/{delegate_id}/personal-data", 401, 403, 403, 200,
        params={**_A, "delegate_id": "delegate"}),
    Row("congress", "POST", "/api/congresses/{congress_id}/delegates/{delegate_id}/erase-personal-data",
        401, 403, 403, 200, params={**_A, "delegate_id": "delegate"}),
    # /c/{code}: a neutral page for anyone but staff, who learn that a random code is no badge.
    Row("congress", "GET", "/c/{code}", 200, 200, 404, 404, public=True, params={"code": "random"}),
    Row("congress", "POST", "/c/{code}", 401, 403, 404, 404, params={"code": "random"}),
    Row("congress", "GET", "/static/congress/{path:path}", 200, 200, 200, 200, public=True,
        params={"path:path": "vendor/jsqr/jsQR.js"}),
    Row("congress", "GET", "/console", 303, 303, 303, 303, public=True),
    Row("congress", "GET", "/console/", 303, 303, 303, 303, public=True),
    Row("congress", "GET", "/console/login", 200, 200, 200, 200, public=True),
    Row("congress", "POST", "/console/login", 401, 401, 401, 401, public=True),
    Row("congress", "POST", "/console/logout", 303, 303, 303, 303, public=True, fresh=True),
    Row("congress", "GET", "/console/congresses", 401, 403, 200, 200, right="secretary"),
    Row("congress", "POST", "/console/congresses", 401, 403, 422, 422, right="secretary"),
    _secretary("GET", "/console/congresses/{congress_id}", 200),
    _secretary("GET", "/console/congresses/{congress_id}/delegates", 200),
    _secretary("GET", "/console/congresses/{congress_id}/documents", 200),
    _secretary("GET", "/console/congresses/{congress_id}/desk", 200),
    _secretary("GET", "/console/congresses/{congress_id}/dashboard", 200),
    _secretary("POST", "/console/congresses/{congress_id}/open", 303),
    _secretary("POST", "/console/congresses/{congress_id}/agenda", 422),
    _secretary("POST", "/console/congresses/{congress_id}/agenda/{item_id}", 303,
               {**_A, "item_id": "agenda_item"}),
    _secretary("POST", "/console/congresses/{congress_id}/agenda/{item_id}/remove", 303,
               {**_A, "item_id": "agenda_item"}),
    _secretary("POST", "/console/congresses/{congress_id}/close", 422),  # not confirmed: nothing closes
    _secretary("POST", "/console/congresses/{congress_id}/delegates/import", 422),
    _secretary("POST", "/console/congresses/{congress_id}/delegates/{delegate_id}/reissue", 303,
               {**_A, "delegate_id": "delegate"}),
    _secretary("POST", "/console/congresses/{congress_id}/desk/checkin", 422),
    _secretary("POST", "/console/congresses/{congress_id}/desk/undo", 404),
    _secretary("POST", "/console/congresses/{congress_id}/documents/publish", 422),
    _secretary("POST", "/console/congresses/{congress_id}/documents/publications/{publication_id}/revoke", 303,
               {**_A, "publication_id": "fresh_publication"}),
]
