"""Staff token checks, the same in every service.

The congress service alone holds the signing key (ES256). It publishes the public keys in
the shared KV bucket under `auth.keys` and revocations under `auth.revoked.<kind>.<id>`
(`sid` = one session, `user` = every session of a user issued before the stored time).
Every service watches both, so a rotated key or a logout is honoured everywhere within
moments, without a restart and without asking the congress service.

API clients send `Authorization: Bearer <token>`; pages ride the HttpOnly `session` cookie
(the same token) and must then send the CSRF token on unsafe methods (double submit:
`csrf_token` cookie = `X-CSRF-Token` header or `csrf_token` form field).

Endpoints declare the caller as a parameter: `user: CurrentUser`, `OptionalUser`, or a role
check from `require_roles(...)`. Routers built with `route_class=StaffRoute` resolve these
without FastAPI's dependency injection (it costs more than the check itself); elsewhere the
same annotations work as ordinary dependencies, with the same outcome.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import inspect
import json
import time
import typing
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from nats.js.kv import KeyValue
from pydantic.fields import FieldInfo

from contracts.streams import SHARED_KV_BUCKET
from runtime.errors import ApiError, Forbidden, Unauthorized, Unavailable

log = structlog.get_logger()

KEYS_KV_KEY = "auth.keys"
REVOKED_PREFIX = "auth.revoked."
ISSUER = "congress"
ALGORITHM = "ES256"
SESSION_COOKIE = "session"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Principal:
    """The authenticated staff member making a request."""

    id: str
    username: str
    full_name: str
    roles: frozenset[str]
    auth_time: int
    session_id: str
    via_cookie: bool = False

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class _Verified:
    """A token whose signature holds: its claims and the principals built from it so far (one
    per transport: bearer or cookie)."""

    __slots__ = ("claims", "principals")

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims
        self.principals: dict[bool, Principal] = {}


def _principal_of(claims: dict[str, Any], via_cookie: bool) -> Principal:
    return Principal(
        id=claims["sub"],
        username=claims.get("username", ""),
        full_name=claims.get("name", ""),
        roles=frozenset(claims.get("roles", [])),
        auth_time=int(claims["auth_time"]),
        session_id=claims["sid"],
        via_cookie=via_cookie,
    )


@dataclass
class TokenVerifier:
    """Verifies access tokens with the public keys and revocations mirrored from KV."""

    keys: dict[str, Any] = field(default_factory=dict)  # kid -> public key object
    revoked_sessions: set[str] = field(default_factory=set)
    revoked_users: dict[str, float] = field(default_factory=dict)  # user id -> revoked-before (epoch s)
    leeway: int = 5
    cache_size: int = 10_000
    _verified: OrderedDict[str, _Verified] = field(default_factory=OrderedDict)
    _watchers: list[asyncio.Task[None]] = field(default_factory=list)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)

    def set_keys(self, document: dict[str, Any]) -> None:
        """`document` = {"keys": [{"kid": ..., "public_pem": ...}, ...]} as stored in KV."""
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        self.keys = {k["kid"]: load_pem_public_key(k["public_pem"].encode()) for k in document.get("keys", [])}
        self._verified.clear()  # a withdrawn key must not live on in the cache

    def apply_revocation(self, key: str, value: bytes | None) -> None:
        kind, _, ident = key[len(REVOKED_PREFIX) :].partition(".")
        if kind == "sid":
            if value is None:
                self.revoked_sessions.discard(ident)
            else:
                self.revoked_sessions.add(ident)
        elif kind == "user":
            if value is None:
                self.revoked_users.pop(ident, None)
            else:
                self.revoked_users[ident] = float(value.decode() or "0")

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or Unauthorized. A signature is checked once per token (ES256
        verification costs more than the rest of a small request); expiry and revocations are
        checked on every call."""
        return self._checked(token).claims

    def principal(self, token: str, via_cookie: bool) -> Principal:
        """The caller a valid token names, built once per token and transport: a repeat request
        builds nothing, yet expiry and revocations are checked on every call, as in `verify`."""
        entry = self._checked(token)
        principal = entry.principals.get(via_cookie)
        if principal is None:
            principal = entry.principals[via_cookie] = _principal_of(entry.claims, via_cookie)
        return principal

    def _checked(self, token: str) -> _Verified:
        entry = self._verified.get(token)
        if entry is None:
            entry = _Verified(self._verify_signature(token))
            self._verified[token] = entry
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        claims = entry.claims
        if claims["exp"] + self.leeway < time.time():
            del self._verified[token]
            raise Unauthorized("invalid_token", "Please log in.")
        if claims["sid"] in self.revoked_sessions:
            raise Unauthorized("session_ended", "Please log in.")
        revoked_before = self.revoked_users.get(claims["sub"])
        if revoked_before is not None and claims["iat"] <= revoked_before:
            raise Unauthorized("session_ended", "Please log in.")
        return entry

    def _verify_signature(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid_token", "Please log in.") from exc
        key = self.keys.get(header.get("kid", ""))
        if key is None and not self.loaded.is_set():
            # A process just (re)started, or NATS is away, and the keys are not mirrored yet: the
            # token may well be valid. "Log in again" would throw staff out of their session.
            raise Unavailable("unavailable", "The service is temporarily unavailable. Please try again in a moment.",
                              headers={"Retry-After": "2"})
        if key is None:
            raise Unauthorized("invalid_token", "Please log in.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "sid", "auth_time"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid_token", "Please log in.") from exc
        return claims

    async def watch(self, js: Any) -> None:
        """Mirror keys and revocations from KV; returns once the first snapshot is loaded."""
        kv: KeyValue = await js.key_value(SHARED_KV_BUCKET)
        self._watchers.append(asyncio.create_task(self._follow(kv), name="auth-kv-watch"))
        try:
            await asyncio.wait_for(self.loaded.wait(), timeout=10)
        except TimeoutError:
            log.warning("auth.keys_not_loaded_yet")

    async def _follow(self, kv: KeyValue) -> None:
        while True:
            try:
                watcher = await kv.watch("auth.>", include_history=False)
                async for entry in watcher:
                    if entry is None:  # end of the initial snapshot
                        self.loaded.set()
                        continue
                    deleted = entry.operation in ("DEL", "PURGE")
                    if entry.key == KEYS_KV_KEY and not deleted and entry.value:
                        self.set_keys(json.loads(entry.value))
                        self.loaded.set()
                    elif entry.key.startswith(REVOKED_PREFIX):
                        self.apply_revocation(entry.key, None if deleted else entry.value)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS reconnecting: watch again
                log.warning("auth.watch_failed", error=str(exc) or type(exc).__name__)
                await asyncio.sleep(1)

    async def stop(self) -> None:
        for task in self._watchers:
            task.cancel()


def verifier_of(request: Request) -> TokenVerifier:
    return request.app.state["runtime"].extras["auth"]  # item access: attribute access costs a failed lookup


def _bearer(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>` (read from the raw headers: this runs on
    every staff request)."""
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            if value[:7].lower() == b"bearer " and len(value) > 7:
                return value[7:].decode("latin-1").strip()
            return None
    return None


async def check_csrf(request: Request) -> None:
    """Double submit: the cookie must equal the header or the form field."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token", "")
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise ApiError(
            "csrf_failed",
            "The security token of the form is missing or wrong. Reload the page and try again.",
            status=403,
        )


async def optional_user(request: Request) -> Principal | None:
    """The caller if a valid token or session cookie came with the request, else None."""
    verifier = verifier_of(request)
    token = _bearer(request)
    via_cookie = False
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        via_cookie = token is not None
    if not token:
        return None
    try:
        principal = verifier.principal(token, via_cookie)
    except Unauthorized:
        if via_cookie:
            return None  # an expired page session is the same as none
        raise
    if via_cookie and request.method in UNSAFE_METHODS:
        await check_csrf(request)
    request.scope.setdefault("state", {})["principal"] = principal  # = request.state.principal, cheaper
    return principal


def _logged_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("not_authenticated", "Please log in.")
    return principal


def _anyone(principal: Principal | None) -> Principal | None:
    return principal


def _holding(roles: tuple[str, ...]) -> Callable[[Principal | None], Principal]:
    allowed = frozenset(roles) | {"admin"}

    def check(principal: Principal | None) -> Principal:
        principal = _logged_in(principal)
        if principal.roles.isdisjoint(allowed):
            raise Forbidden("forbidden", "You do not have permission to do this.")
        return principal

    return check


async def current_user(request: Request) -> Principal:
    return _logged_in(await optional_user(request))


# What each staff-auth dependency requires of the caller: StaffRoute applies the same check
# without going through FastAPI's dependency injection.
optional_user.staff_auth = _anyone  # type: ignore[attr-defined]
current_user.staff_auth = _logged_in  # type: ignore[attr-defined]

CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency: the caller must hold one of these roles (admin always passes)."""
    check = _holding(roles)

    async def dependency(user: CurrentUser) -> Principal:
        return check(user)

    dependency.staff_auth = check  # type: ignore[attr-defined]
    return dependency


def require_recent_auth(user: Principal, max_age_seconds: int = 300) -> None:
    """Step-up: a signature needs a password entered at most `max_age_seconds` ago."""
    if time.time() - user.auth_time > max_age_seconds:
        raise ApiError("reauth_required", "Please enter your password again to sign.", status=401)


# --------------------------------------------------------------------------- StaffRoute

StaffChecks = tuple[tuple[str, Callable[[Principal | None], Principal | None]], ...]
_HIDDEN_REQUEST = "_staff_request"


def _staff_check(annotation: Any, default: Any) -> Callable[[Principal | None], Principal | None] | None:
    """The check of the staff-auth dependency a parameter declares, if it declares one."""
    depends = default if isinstance(default, params.Depends) else None
    if typing.get_origin(annotation) is Annotated:
        for extra in reversed(annotation.__metadata__):  # FastAPI heeds the last one
            if isinstance(extra, (params.Depends, FieldInfo)):
                depends = extra if isinstance(extra, params.Depends) else None
                break
    return getattr(depends.dependency, "staff_auth", None) if depends is not None else None


def staff_endpoint(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` taking its staff-auth parameters (CurrentUser, OptionalUser, require_roles)
    from the request itself rather than through FastAPI's dependency injection, which costs
    about 10 us a request; `endpoint` itself when it has none (or is not a coroutine function:
    FastAPI's dependencies then do the same work)."""
    if not (inspect.isfunction(endpoint) and inspect.iscoroutinefunction(endpoint)):
        return endpoint
    try:
        hints = typing.get_type_hints(endpoint, include_extras=True)
    except NameError:  # a name only known to type checkers: FastAPI resolves what it needs
        return endpoint
    signature = inspect.signature(endpoint)
    checks: list[tuple[str, Callable[[Principal | None], Principal | None]]] = []
    kept: list[inspect.Parameter] = []
    request_name = None
    for param in signature.parameters.values():
        annotation = hints.get(param.name, param.annotation)
        check = _staff_check(annotation, param.default)
        if check is not None:
            checks.append((param.name, check))
            continue
        if request_name is None and isinstance(annotation, type) and issubclass(annotation, Request):
            request_name = param.name
        kept.append(param.replace(annotation=annotation))
    if not checks:
        return endpoint
    own_request = request_name is not None
    if request_name is None:
        request_name = _HIDDEN_REQUEST
        at = next((i for i, p in enumerate(kept) if p.kind is p.VAR_KEYWORD), len(kept))
        kept.insert(at, inspect.Parameter(request_name, inspect.Parameter.KEYWORD_ONLY, annotation=Request))
    staff: StaffChecks = tuple(checks)

    @functools.wraps(endpoint)
    async def wrapper(**values: Any) -> Any:
        principal = await optional_user(values[request_name] if own_request else values.pop(request_name))
        for name, check in staff:
            values[name] = check(principal)
        return await endpoint(**values)

    returns = hints.get("return", signature.return_annotation)
    wrapper.__signature__ = signature.replace(parameters=kept, return_annotation=returns)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in kept if p.annotation is not p.empty}
    if returns is not signature.empty:
        wrapper.__annotations__["return"] = returns
    wrapper.staff_checks = staff  # type: ignore[attr-defined]
    return wrapper


def _before_dependencies(invalid: RequestValidationError) -> bool:
    """A body that is not JSON at all: FastAPI reports it before it resolves any dependency."""
    errors = invalid.errors()
    if len(errors) != 1 or errors[0].get("type") != "json_invalid":
        return False
    loc = errors[0].get("loc", ())
    return len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], int)


class StaffRoute(APIRoute):
    """An APIRoute whose endpoint resolves CurrentUser, OptionalUser and require_roles(...)
    parameters itself (staff_endpoint): the same checks, errors and `request.state.principal`
    as the dependencies, without FastAPI's dependency injection for them. Signatures stay
    declarative; on a router without this class the same annotations work through Depends.

    Order is kept too: FastAPI resolves dependencies before it reports invalid parameters,
    so a caller who would be refused gets the refusal, not the validation error."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, staff_endpoint(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        staff: StaffChecks | None = getattr(self.endpoint, "staff_checks", None)
        if staff is None:
            return handler

        async def refusal_first(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as invalid:
                if not _before_dependencies(invalid):
                    principal = await optional_user(request)
                    for _name, check in staff:
                        check(principal)  # raises the refusal the dependencies would have raised
                raise

        return refusal_first
