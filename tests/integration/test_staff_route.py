"""StaffRoute (runtime/auth.py): endpoints that declare CurrentUser, OptionalUser or a
require_roles(...) check get the caller without FastAPI's dependency injection, with the same
outcome as the dependencies.

A small app built by runtime.service.create_app (the services' error handlers, i18n) serves
the same endpoints twice: under /staff on a StaffRoute router, under /di on a plain router
(the dependencies themselves). Tokens are real ES256 tokens from congress.tokens.Signer,
checked by a real TokenVerifier; every case runs against both and must answer alike."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from congress import model
from congress.tokens import Signer, generate_key
from runtime.auth import CurrentUser, OptionalUser, Principal, StaffRoute, TokenVerifier, require_roles
from runtime.db import utcnow
from runtime.processes import REPO_ROOT
from runtime.service import create_app

SECRET = "staff-route-test-" + uuid.uuid4().hex
KEY = generate_key(SECRET)
SIGNER = Signer(SECRET)
VARIANTS = ("/staff", "/di")

Secretary = Annotated[Principal, Depends(require_roles("secretary"))]


class Item(BaseModel):
    title: str
    count: int


def who(user: Principal | None) -> dict[str, Any]:
    if user is None:
        return {"user": None}
    return {"user": user.id, "roles": sorted(user.roles), "via_cookie": user.via_cookie}


def staff_router(route_class: type[APIRoute]) -> APIRouter:
    router = APIRouter(route_class=route_class)

    # POST: the CSRF check on cookies. Out of the schema: one function for two methods
    # would have one operation id twice.
    @router.api_route("/me", methods=["GET", "POST"], include_in_schema=False)
    async def me(user: CurrentUser) -> dict[str, Any]:
        return who(user)

    @router.get("/secretary")
    async def secretary_only(user: Secretary) -> dict[str, Any]:
        return who(user)

    @router.get("/optional")
    async def maybe(user: OptionalUser) -> dict[str, Any]:
        return who(user)

    @router.get("/own-request/{name}")
    async def own_request(name: str, request: Request, user: CurrentUser, limit: int = 10) -> dict[str, Any]:
        return {**who(user), "name": name, "limit": limit, "state": request.state.principal.id}

    @router.post("/items", status_code=201)
    async def add_item(item: Item, user: Secretary) -> dict[str, Any]:
        return {**who(user), "title": item.title}

    return router


def build_app(verifier: TokenVerifier) -> FastAPI:
    runtime = SimpleNamespace(name="congress", settings=None, migrations=REPO_ROOT / "congress" / "migrations",
                              extras={"auth": verifier})
    return create_app(runtime, routers=[], title="staff route test")  # type: ignore[arg-type]


@pytest.fixture
def verifier() -> TokenVerifier:
    made = TokenVerifier()
    made.set_keys({"keys": [{"kid": KEY.kid, "public_pem": KEY.public_pem}]})
    made.loaded.set()
    return made


@pytest.fixture
def app(verifier: TokenVerifier) -> FastAPI:
    made = build_app(verifier)
    made.include_router(staff_router(StaffRoute), prefix="/staff")
    made.include_router(staff_router(APIRoute), prefix="/di")
    return made


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                 headers={"Accept-Language": "en"}) as made:
        yield made


def token(roles: list[str], *, issued_ago: timedelta = timedelta(0), user_id: str | None = None,
          session_id: str | None = None) -> str:
    now = utcnow() - issued_ago
    subject = model.TokenSubject(user_id or str(uuid.uuid4()), "thu.ky", "Nguyễn Thị Thư Ký", roles)
    claims = model.access_claims(subject, session_id or str(uuid.uuid4()), now, now)
    return SIGNER.sign(claims, KEY.kid, KEY.private_key_encrypted)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def cookies(session: str, csrf: str | None = None) -> dict[str, str]:
    jar = f"session={session}" + (f"; csrf_token={csrf}" if csrf else "")
    return {"Cookie": jar}


async def both(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The answer of the StaffRoute endpoint, once checked equal to the dependencies' answer."""
    staff, di = [await client.request(method, prefix + path, **kwargs) for prefix in VARIANTS]
    assert (staff.status_code, staff.json()) == (di.status_code, di.json()), (staff.text, di.text)
    return staff


def error_of(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


# --------------------------------------------------------------------------- bearer tokens


async def test_no_token_is_401_in_the_json_envelope(client: httpx.AsyncClient) -> None:
    r = await both(client, "GET", "/me")
    assert r.status_code == 401
    assert r.json() == {"error": {"code": "not_authenticated", "message": "Please log in."}}


async def test_messages_follow_the_callers_language(client: httpx.AsyncClient) -> None:
    r = await both(client, "GET", "/me", headers={"Accept-Language": "vi"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] not in ("", "Please log in.")


async def test_a_bad_bearer_token_is_401(client: httpx.AsyncClient) -> None:
    for value in ("not-a-jwt", token(["secretary"])[:-6] + "AAAAAA"):
        r = await both(client, "GET", "/optional", headers=bearer(value))
        assert (r.status_code, error_of(r)) == (401, "invalid_token")


async def test_an_expired_token_is_401(client: httpx.AsyncClient) -> None:
    r = await both(client, "GET", "/me", headers=bearer(token(["secretary"], issued_ago=timedelta(hours=2))))
    assert (r.status_code, error_of(r)) == (401, "invalid_token")


async def test_the_right_caller_passes(client: httpx.AsyncClient) -> None:
    user_id = str(uuid.uuid4())
    r = await both(client, "GET", "/secretary", headers=bearer(token(["secretary"], user_id=user_id)))
    assert r.status_code == 200
    assert r.json() == {"user": user_id, "roles": ["secretary"], "via_cookie": False}


async def test_a_wrong_role_is_403_and_admin_always_passes(client: httpx.AsyncClient) -> None:
    r = await both(client, "GET", "/secretary", headers=bearer(token(["signer"])))
    assert (r.status_code, error_of(r)) == (403, "forbidden")
    r = await both(client, "GET", "/secretary", headers=bearer(token(["admin"])))
    assert r.status_code == 200
    r = await both(client, "GET", "/secretary")
    assert r.status_code == 401


async def test_a_revoked_session_or_user_is_refused_at_once(client: httpx.AsyncClient,
                                                            verifier: TokenVerifier) -> None:
    user_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    headers = bearer(token(["secretary"], user_id=user_id, session_id=session_id))
    assert (await both(client, "GET", "/me", headers=headers)).status_code == 200
    verifier.apply_revocation(f"auth.revoked.sid.{session_id}", b"1")
    r = await both(client, "GET", "/me", headers=headers)
    assert (r.status_code, error_of(r)) == (401, "session_ended")
    verifier.apply_revocation(f"auth.revoked.sid.{session_id}", None)
    assert (await both(client, "GET", "/me", headers=headers)).status_code == 200

    verifier.apply_revocation(f"auth.revoked.user.{user_id}", str(time.time() + 1).encode())
    r = await both(client, "GET", "/me", headers=headers)
    assert (r.status_code, error_of(r)) == (401, "session_ended")


async def test_a_withdrawn_key_takes_its_cached_tokens_along(client: httpx.AsyncClient,
                                                             verifier: TokenVerifier) -> None:
    headers = bearer(token(["secretary"]))
    assert (await both(client, "GET", "/me", headers=headers)).status_code == 200
    verifier.set_keys({"keys": []})
    r = await both(client, "GET", "/me", headers=headers)
    assert (r.status_code, error_of(r)) == (401, "invalid_token")


def test_a_principal_is_built_once_per_token_and_transport(verifier: TokenVerifier) -> None:
    value = token(["secretary"])
    by_bearer = verifier.principal(value, via_cookie=False)
    assert verifier.principal(value, via_cookie=False) is by_bearer
    by_cookie = verifier.principal(value, via_cookie=True)
    assert by_cookie.via_cookie and not by_bearer.via_cookie
    assert verifier.verify(value)["sub"] == by_bearer.id


# --------------------------------------------------------------------------- the session cookie


async def test_a_cookie_get_needs_no_csrf_token(client: httpx.AsyncClient) -> None:
    r = await both(client, "GET", "/me", headers=cookies(token(["secretary"])))
    assert r.status_code == 200
    assert r.json()["via_cookie"] is True


async def test_a_cookie_post_needs_the_csrf_token(client: httpx.AsyncClient) -> None:
    session = token(["secretary"])
    r = await both(client, "POST", "/me", headers=cookies(session))
    assert (r.status_code, error_of(r)) == (403, "csrf_failed")
    r = await both(client, "POST", "/me", headers={**cookies(session, "c1"), "X-CSRF-Token": "c2"})
    assert (r.status_code, error_of(r)) == (403, "csrf_failed")
    r = await both(client, "POST", "/me", headers={**cookies(session, "c1"), "X-CSRF-Token": "c1"})
    assert r.status_code == 200
    r = await both(client, "POST", "/me", headers=cookies(session, "c1"), data={"csrf_token": "c1"})
    assert r.status_code == 200


async def test_a_bearer_post_needs_no_csrf_token(client: httpx.AsyncClient) -> None:
    r = await both(client, "POST", "/me", headers=bearer(token(["secretary"])))
    assert r.status_code == 200


async def test_a_bad_or_expired_cookie_is_anonymous(client: httpx.AsyncClient) -> None:
    for session in ("garbage", token(["secretary"], issued_ago=timedelta(hours=2))):
        r = await both(client, "GET", "/optional", headers=cookies(session))
        assert (r.status_code, r.json()) == (200, {"user": None})
        r = await both(client, "GET", "/me", headers=cookies(session))
        assert (r.status_code, error_of(r)) == (401, "not_authenticated")


async def test_the_bearer_token_wins_over_the_cookie(client: httpx.AsyncClient) -> None:
    r = await both(client, "GET", "/me", headers={**bearer("garbage"), **cookies(token(["secretary"]))})
    assert (r.status_code, error_of(r)) == (401, "invalid_token")


# --------------------------------------------------------------------------- the endpoint's own parameters


async def test_an_endpoint_with_its_own_request_parameter(client: httpx.AsyncClient) -> None:
    user_id = str(uuid.uuid4())
    r = await both(client, "GET", "/own-request/agenda", params={"limit": 3},
                   headers=bearer(token(["signer"], user_id=user_id)))
    assert r.status_code == 200
    assert r.json() == {"user": user_id, "roles": ["signer"], "via_cookie": False, "name": "agenda", "limit": 3,
                        "state": user_id}


async def test_a_refusal_comes_before_a_validation_error(client: httpx.AsyncClient) -> None:
    r = await both(client, "GET", "/own-request/agenda", params={"limit": "many"})
    assert (r.status_code, error_of(r)) == (401, "not_authenticated")
    r = await both(client, "POST", "/items", json={"title": "x"})
    assert (r.status_code, error_of(r)) == (401, "not_authenticated")
    r = await both(client, "POST", "/items", json={"title": "x"}, headers=bearer(token(["signer"])))
    assert (r.status_code, error_of(r)) == (403, "forbidden")
    r = await both(client, "POST", "/items", json={"title": "x"}, headers=bearer(token(["secretary"])))
    assert (r.status_code, error_of(r)) == (422, "validation_failed")
    r = await both(client, "POST", "/items", json={"title": "x", "count": 1}, headers=bearer(token(["secretary"])))
    assert r.status_code == 201


async def test_a_body_that_is_not_json_is_422_before_any_check(client: httpx.AsyncClient) -> None:
    r = await both(client, "POST", "/items", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (r.status_code, error_of(r)) == (422, "validation_failed")


def routes_by_key(router: APIRouter) -> dict[str, APIRoute]:
    return {f"{sorted(route.methods)[0]} {route.path}": route for route in router.routes}  # type: ignore[union-attr]


def test_staff_parameters_skip_dependency_injection() -> None:
    staff, di = routes_by_key(staff_router(StaffRoute)), routes_by_key(staff_router(APIRoute))
    assert staff.keys() == di.keys() and len(staff) == 5
    for key, route in staff.items():
        assert not route.dependant.dependencies, key  # FastAPI resolves nothing for the caller
        assert "user" in {dep.name for dep in di[key].dependant.dependencies}, key
        assert route.name == di[key].name and route.endpoint.__doc__ == di[key].endpoint.__doc__


async def test_an_app_whose_own_routes_are_staff_routes(verifier: TokenVerifier) -> None:
    app = build_app(verifier)
    app.router.route_class = StaffRoute

    @app.get("/whoami")
    async def whoami(user: CurrentUser) -> dict[str, Any]:
        return who(user)

    route = next(r for r in app.routes if getattr(r, "path", "") == "/whoami")
    assert isinstance(route, StaffRoute) and not route.dependant.dependencies
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/whoami")).status_code == 401
        user_id = str(uuid.uuid4())
        r = await client.get("/whoami", headers=bearer(token(["archivist"], user_id=user_id)))
    assert (r.status_code, r.json()["user"]) == (200, user_id)


def without_names(value: Any) -> Any:
    """An OpenAPI fragment without the titles and ids that FastAPI derives from the path."""
    if isinstance(value, dict):
        return {k: without_names(v) for k, v in value.items() if k not in ("title", "operationId")}
    if isinstance(value, list):
        return [without_names(v) for v in value]
    return value


def test_the_openapi_document_is_unchanged(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path in ("/secretary", "/optional", "/own-request/{name}", "/items"):
        assert without_names(paths[f"/staff{path}"]) == without_names(paths[f"/di{path}"]), path
