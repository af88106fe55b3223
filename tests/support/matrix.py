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
    (a well-formed id nobody has), or a literal value. Body strings may name {password},
    {username} (the caller's), {admin_password}, {unique} and {new_user}.
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
        return name

    def fill(self, value: Any, who: Caller | None) -> Any:
        if isinstance(value, dict):
            return {k: self.fill(v, who) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v, who) for v in value]
        if not isinstance(value, str):
            return value
        if value == "{new_user}":
            return self.new_user(["signer"])[0]
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
        with httpx.Client(timeout=20, cookies=cookies) as client:
            return client.request(row.method, self.url(row.service, path), headers=headers, json=body)

    def close(self) -> None:
        self.http.close()
