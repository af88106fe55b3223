"""The role x endpoint matrix: every route of every service, from the apps' own routes, and a
world of callers to run each row against a real started system.

Callers of a row:
- `anonymous`: no token;
- `wrong_role`: a staff member whose roles do not allow the action (the row's `wrong`, a signer
  by default), staff of no congress;
- `other_congress`: a secretary who is staff of congress B only (rows use congress A);
- `right_role`: the row's `right` (admin by default; `secretary` = a secretary staff of congress A).

Rows live in tests/support/access_matrix.py.
"""

from __future__ import annotations

import importlib
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.system import System

CALLERS = ("anonymous", "wrong_role", "other_congress", "right_role")
FRAMEWORK_PATHS = frozenset({"/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"})
SERVICE_APPS = {"congress": "congress.main", "documents": "documents.main", "signing": "signing.main"}
PASSWORD = "matrix-password-1"
ROLES = {"secretary_a": ["secretary"], "secretary_b": ["secretary"], "secretary": ["secretary"],
         "signer": ["signer"], "archivist": ["archivist"], "admin": ["admin"]}


@dataclass(frozen=True)
class Row:
    """Expected status per caller for one route (`path` exactly as the route's template).

    `params` fills path parameters: "congress_a" (the callers' congress), "new_user" (a fresh
    user made for the call), "staff_member" (a fresh user made staff of congress A), "random"
    (a well-formed id nobody has), or a literal value; congress I resources of congress A:
    "agenda_item" and "delegate" (fresh), "publication" (one, shared), "fresh_publication",
    "publication_token" and "delegate_token" (the secrets in /q/ and /d/ links). Body strings
    may name {password}, {username} (the caller's), {admin_password}, {unique}, {new_user},
    {approved_document} (a new approved document of congress A) and {agenda_order} (congress A's
    agenda item ids, as a list). `files`: a multipart upload {field: (name, text, type)}, text
    filled like body strings. `stream`: read the status only, then close (server-sent events).
    Signing resources of congress A: "signing_request" (one open request, shared; signer: the
    world's signer), "new_signing_request" (a fresh one; the signer logs in again first, since
    signing needs a recent password), "verification_code" (of a signed request); body strings
    {signing_document} and {signing_signer} repeat the shared request's document and signer.
    Documents resources of congress A, uploaded through the documents API by secretary A:
    "uploaded_document" (one draft report, shared), "draft_reference" (a fresh draft reference),
    "approved_upload" (one approved reference, shared), "documents_congress_a" (congress A once
    the documents service knows it and its staff); body, form and file strings may name
    {documents_congress_a}, and a file's text may be {pdf} (a fresh one-page PDF). `query`: query
    parameters, resolved like `params`. `form`: multipart fields sent with `files`, filled like
    body strings.
    `fresh`: every authenticated caller is a new user of that kind, logged in for this call only
    (the row ends or changes its session). `cookies`: ride the session cookies (+ CSRF header).
    """

    service: str
    method: str
    path: str
    anonymous: int
    wrong_role: int
    other_congress: int
    right_role: int
    right: str = "admin"
    wrong: str = "signer"
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    fresh: bool = False
    cookies: bool = False
    public: bool = False
    files: dict[str, tuple[str, str, str]] | None = None
    stream: bool = False
    page: bool = False  # an HTML page: its refusals are pages too, not the JSON error envelope
    query: dict[str, str] | None = None
    form: dict[str, str] | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.service, self.method, self.path)

    def expected(self, caller: str) -> int:
        return getattr(self, caller)


def _flat_routes(routes: Any) -> Iterator[tuple[str, set[str] | None]]:
    """(path, methods) of each route; included routers are walked (recent FastAPI keeps an
    included router as one entry of `app.routes`, with its routes behind it)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                plain = getattr(context, "starlette_route", None)  # a plain Starlette route, prefixed
                if plain is not None:
                    yield getattr(plain, "path", ""), getattr(plain, "methods", None)
                    continue
                methods = getattr(context, "methods", None) or getattr(context.original_route, "methods", None)
                yield context.path, (set(methods) if methods is not None else None)
        else:
            yield getattr(route, "path", ""), getattr(route, "methods", None)


def app_routes() -> set[tuple[str, str, str]]:
    """(service, method, path template) of every route each app serves, framework pages excepted."""
    found: set[tuple[str, str, str]] = set()
    for service, module_name in SERVICE_APPS.items():
        app = importlib.import_module(module_name).app
        for path, methods in _flat_routes(app.routes):
            if path in FRAMEWORK_PATHS:
                continue
            if methods is None:  # a Mount (static files, a sub-application): reached with GET
                found.add((service, "GET", f"{path}/{{path:path}}"))
                continue
            for method in sorted(methods - {"HEAD"}):
                found.add((service, method, path))
    return found


def row_suggestion(service: str, method: str, path: str) -> str:
    return (f"Row({service!r}, {method!r}, {path!r}, anonymous=401, wrong_role=403, other_congress=404, "
            f"right_role=200, right='secretary', params={{...}})")


# --------------------------------------------------------------------------- the world


@dataclass
class Caller:
    username: str
    password: str
    user_id: str
    token: str
    cookies: dict[str, str]


class World:
    """Users, congresses and logged-in callers, made through the real APIs."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.http = httpx.Client(timeout=20)
        self.admin = self.log_in(system.admin_username, system.admin_password)
        self.callers: dict[str, Caller] = {"admin": self.admin}
        for kind in ("secretary_a", "secretary_b", "signer", "archivist"):
            self.callers[kind] = self.log_in(self.new_user(ROLES[kind])[1], PASSWORD)
        self.callers["secretary"] = self.callers["secretary_a"]
        self.congress_a = self.new_congress(self.callers["secretary_a"], "Đại hội Hội Liên hiệp Phụ nữ phường A")
        self.congress_b = self.new_congress(self.callers["secretary_b"], "Đại hội Đoàn Thanh niên xã B")

    def new_congress(self, secretary: Caller, title: str) -> str:
        """Through the congress API when it exists (its creator becomes staff), else an id the
        admin makes the secretary staff of."""
        if ("congress", "POST", "/api/congresses") in app_routes():
            r = self.http.post(self.url("congress", "/api/congresses"), headers=self.auth(secretary),
                               json={"title": title, "quorum": 0.5})
            assert r.status_code == 201, r.text
            return r.json()["id"]
        congress_id = str(uuid.uuid4())
        self.add_staff(congress_id, secretary.user_id)
        return congress_id

    def url(self, service: str, path: str) -> str:
        return self.system.service_url(service) + path

    def log_in(self, username: str, password: str) -> Caller:
        r = self.http.post(self.url("congress", "/api/auth/login"), json={"username": username, "password": password})
        r.raise_for_status()
        body = r.json()
        return Caller(username, password, body["user"]["id"], body["access_token"], dict(r.cookies))

    def new_user(self, roles: list[str]) -> tuple[str, str]:
        username = f"u-{secrets.token_hex(5)}"
        r = self.http.post(self.url("congress", "/api/users"), headers=self.auth(self.admin),
                           json={"username": username, "password": PASSWORD, "full_name": "Phạm Thị Mai", "roles": roles})
        r.raise_for_status()
        return r.json()["id"], username

    def add_staff(self, congress_id: str, user_id: str) -> None:
        r = self.http.post(self.url("congress", f"/api/congresses/{congress_id}/staff"), headers=self.auth(self.admin),
                           json={"user_id": user_id})
        assert r.status_code in (200, 201), r.text

    def new_caller(self, kind: str) -> Caller:
        user_id, username = self.new_user(ROLES[kind])
        if kind in ("secretary_a", "secretary"):
            self.add_staff(self.congress_a, user_id)
        elif kind == "secretary_b":
            self.add_staff(self.congress_b, user_id)
        return self.log_in(username, PASSWORD)

    @staticmethod
    def auth(caller: Caller) -> dict[str, str]:
        return {"Authorization": f"Bearer {caller.token}"}

    def caller_for(self, row: Row, caller: str) -> Caller | None:
        if caller == "anonymous":
            return None
        kind = {"wrong_role": row.wrong, "other_congress": "secretary_b", "right_role": row.right}[caller]
        return self.new_caller(kind) if row.fresh else self.callers[kind]

    def param(self, name: str) -> str:
        if name == "congress_a":
            return self.congress_a
        if name == "new_user":
            return self.new_user(["signer"])[0]
        if name == "staff_member":
            user_id = self.new_user(["signer"])[0]
            self.add_staff(self.congress_a, user_id)
            return user_id
        if name == "random":
            return str(uuid.uuid4())
        return (self.congress_resource(name) or self.signing_resource(name) or self.documents_resource(name)
                or name)

    # -- congress I resources of congress A, made through the real APIs as secretary A

    def congress_resource(self, name: str) -> str | None:
        secretary = self.auth(self.callers["secretary_a"])
        base = self.url("congress", f"/api/congresses/{self.congress_a}")
        if name == "agenda_item":
            r = self.http.post(f"{base}/agenda", headers=secretary, json={"title": "Báo cáo chính trị"})
            assert r.status_code == 201, r.text
            return r.json()["id"]
        if name in ("delegate", "delegate_token"):
            r = self.http.post(f"{base}/delegates", headers=secretary,
                               json={"full_name": f"Đỗ Thị Hằng {secrets.token_hex(4)}", "unit": "Chi hội 3"})
            assert r.status_code == 201, r.text
            return r.json()["id"] if name == "delegate" else r.json()["personal_url"].rsplit("/", 1)[1]
        if name in ("publication", "publication_token"):
            if self._publication is None:
                self._publication = self.new_publication()
            return self._publication["id"] if name == "publication" else self._publication["token"]
        if name == "fresh_publication":
            return self.new_publication()["id"]
        return None

    _publication: dict[str, Any] | None = None

    def new_publication(self) -> dict[str, Any]:
        from tests.support.congress_fixtures import approved_document

        document = approved_document(self.system.nats_url, self.congress_a, "Nghị quyết Đại hội")
        body = {"document_id": document.document_id, "audience": "public"}
        url = self.url("congress", f"/api/congresses/{self.congress_a}/publications")
        deadline = time.monotonic() + 20
        while True:  # until the congress service has consumed the approval
            r = self.http.post(url, headers=self.auth(self.callers["secretary_a"]), json=body)
            if r.status_code in (200, 201) or time.monotonic() > deadline:
                assert r.status_code in (200, 201), r.text
                return r.json()
            time.sleep(0.1)

    def approved_document(self) -> str:
        """A document approved after everything published so far: publishing a later one proves
        the congress service has consumed it (one consumer applies the stream in order)."""
        from tests.support.congress_fixtures import approved_document

        document = approved_document(self.system.nats_url, self.congress_a, "Báo cáo tài chính")
        self.new_publication()
        return document.document_id

    def agenda_order(self) -> list[str]:
        r = self.http.get(self.url("congress", f"/api/congresses/{self.congress_a}/agenda"),
                          headers=self.auth(self.admin))
        r.raise_for_status()
        return [item["id"] for item in r.json()["items"]]

    # -- signing resources of congress A: requests made through the signing API as secretary A

    _signing_request: dict[str, Any] | None = None

    def signing_resource(self, name: str) -> str | None:
        if name == "signing_request":
            return self.shared_signing_request()["id"]
        if name == "new_signing_request":
            return self.new_signing_request()["id"]
        if name == "verification_code":
            request = self.new_signing_request()
            r = self.http.post(self.url("signing", f"/api/signing/requests/{request['id']}/sign"),
                               headers=self.auth(self.callers["signer"]))
            assert r.status_code == 200, r.text
            return r.json()["signers"][0]["verification_code"]
        return None

    def shared_signing_request(self) -> dict[str, Any]:
        if self._signing_request is None:
            self._signing_request = self.new_signing_request()
        return self._signing_request

    def new_signing_request(self) -> dict[str, Any]:
        """An open request over a new document of congress A, the world's signer in its only slot."""
        from tests.support.congress_fixtures import approved_document

        document = approved_document(self.system.nats_url, self.congress_a, "Nghị quyết Đại hội", approve=False)
        body = {"document_id": document.document_id, "version": 1,
                "signers": [{"username": self.callers["signer"].username, "role": "signer"}]}
        signer = self.callers["signer"]  # about to be asked to sign: a recent password, as a person would
        fresh = self.log_in(signer.username, signer.password)
        signer.token, signer.cookies = fresh.token, fresh.cookies
        url = self.url("signing", "/api/signing/requests")
        deadline = time.monotonic() + 20
        while True:  # until the signing service has consumed the upload and the users (404/422 before)
            r = self.http.post(url, headers=self.auth(self.callers["secretary_a"]), json=body)
            if r.status_code == 201 or time.monotonic() > deadline:
                assert r.status_code == 201, r.text
                return {**r.json(), "body": body}
            time.sleep(0.1)

    # -- documents resources of congress A: uploaded through the documents API as secretary A

    _uploaded_document: str | None = None
    _approved_upload: str | None = None

    def documents_resource(self, name: str) -> str | None:
        if name == "documents_congress_a":
            self.documents_resource("uploaded_document")  # uploaded: the service knows congress A
            return self.congress_a
        if name == "uploaded_document":
            if self._uploaded_document is None:
                self._uploaded_document = self.upload_document("report", "Báo cáo chính trị")
            return self._uploaded_document
        if name == "draft_reference":
            return self.upload_document("reference", "Tài liệu tham khảo")
        if name == "approved_upload":
            if self._approved_upload is None:
                document_id = self.upload_document("reference", "Quy chế làm việc")
                r = self.http.post(self.url("documents", f"/api/documents/{document_id}/approve"),
                                   headers=self.auth(self.callers["secretary_a"]))
                assert r.status_code == 200, r.text
                self._approved_upload = document_id
            return self._approved_upload
        return None

    def upload_document(self, kind: str, title: str) -> str:
        from tests.support.congress_fixtures import make_pdf

        fields = {"congress_id": self.congress_a, "title": title, "kind": kind}
        url = self.url("documents", "/api/documents")
        deadline = time.monotonic() + 20
        while True:  # until the documents service has consumed congress A and its staff (404 before)
            r = self.http.post(url, headers=self.auth(self.callers["secretary_a"]), data=fields,
                               files={"file": ("tai-lieu.pdf", make_pdf(title), "application/pdf")})
            if r.status_code == 201 or time.monotonic() > deadline:
                assert r.status_code == 201, r.text
                return r.json()["id"]
            time.sleep(0.1)

    def fill(self, value: Any, who: Caller | None) -> Any:
        if isinstance(value, dict):
            return {k: self.fill(v, who) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v, who) for v in value]
        if not isinstance(value, str):
            return value
        if value == "{new_user}":
            return self.new_user(["signer"])[0]
        if value == "{approved_document}":
            return self.approved_document()
        if value == "{agenda_order}":
            return self.agenda_order()
        if value == "{signing_document}":
            return self.shared_signing_request()["document_id"]
        if value == "{signing_signer}":
            return self.callers["signer"].username
        if value == "{documents_congress_a}":
            return self.documents_resource("documents_congress_a")
        if value == "{pdf}":
            from tests.support.congress_fixtures import make_pdf

            return make_pdf("Tài liệu")  # its own bytes every time
        return value.format(password=who.password if who else "", username=who.username if who else "",
                            admin_password=self.system.admin_password, unique=secrets.token_hex(5))

    def call(self, row: Row, caller: str) -> httpx.Response:
        who = self.caller_for(row, caller)
        path = row.path
        for name, source in row.params.items():
            path = path.replace("{" + name + "}", self.param(source))
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        if who is not None and row.cookies:
            cookies = who.cookies
            headers["X-CSRF-Token"] = who.cookies.get("csrf_token", "")
        elif who is not None:
            headers = self.auth(who)
        body = self.fill(row.body, who) if row.body is not None else None
        files = ({name: (filename, self._file_bytes(text, who), kind)
                  for name, (filename, text, kind) in row.files.items()} if row.files else None)
        form = self.fill(row.form, who) if row.form is not None else None
        query = {name: self.param(source) for name, source in row.query.items()} if row.query else None
        with httpx.Client(timeout=20, cookies=cookies) as client:
            if row.stream:
                with client.stream(row.method, self.url(row.service, path), headers=headers) as response:
                    if response.status_code >= 400:
                        response.read()  # a refusal is a short body, not a stream: keep it readable
                    return response
            return client.request(row.method, self.url(row.service, path), headers=headers, params=query, json=body,
                                  data=form, files=files)

    def _file_bytes(self, text: str, who: Caller | None) -> bytes:
        content = self.fill(text, who)
        return content if isinstance(content, bytes) else content.encode()

    def close(self) -> None:
        self.http.close()
