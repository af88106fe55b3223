"""Staff identity across the three services, against real processes: forged, expired, revoked
tokens refused everywhere within a second; key rotation; the shared login rate limit (two
congress replicas); CSRF on cookie-borne requests; errors in Vietnamese or English."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, select

from tests.support.system import System, start_service

PASSWORD = "identity-password-1"
ME = {"congress": "/api/auth/me", "documents": "/api/documents/me", "signing": "/api/signing/me"}


def login(system: System, username: str, password: str, base: str | None = None, **kw) -> httpx.Response:
    return httpx.post(f"{base or system.service_url('congress')}/api/auth/login",
                      json={"username": username, "password": password}, **kw)


def admin_headers(system: System) -> dict[str, str]:
    token = login(system, system.admin_username, system.admin_password).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def new_user(system: System, roles: list[str] | None = None) -> tuple[str, str]:
    username = f"id-{secrets.token_hex(4)}"
    r = httpx.post(f"{system.service_url('congress')}/api/users", headers=admin_headers(system),
                   json={"username": username, "password": PASSWORD, "full_name": "Đỗ Thị Thu", "roles": roles or ["signer"]})
    assert r.status_code == 201, r.text
    return r.json()["id"], username


def statuses(system: System, token: str) -> dict[str, int]:
    return {name: httpx.get(system.service_url(name) + path, headers={"Authorization": f"Bearer {token}"}).status_code
            for name, path in ME.items()}


def within(seconds: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def user_token(system: System) -> tuple[str, str]:
    user_id, username = new_user(system)
    r = login(system, username, PASSWORD)
    assert r.status_code == 200, r.text
    return user_id, r.json()["access_token"]


def test_a_valid_token_works_in_every_service(system: System) -> None:
    _, token = user_token(system)
    assert statuses(system, token) == {"congress": 200, "documents": 200, "signing": 200}


def test_a_token_signed_with_another_key_is_refused_everywhere(system: System) -> None:
    _, token = user_token(system)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": header["kid"]})
    assert statuses(system, forged) == {"congress": 401, "documents": 401, "signing": 401}
    unknown_kid = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                             headers={"kid": uuid.uuid4().hex})
    assert statuses(system, unknown_kid) == {"congress": 401, "documents": 401, "signing": 401}


def _congress_database_url(system: System) -> str:
    env = system.services["congress"].env
    url = env.get("CONGRESS_DATABASE_URL") or f"sqlite:///{env['DATA_DIR']}/congress.sqlite3"
    return url.replace("postgresql+psycopg://", "postgresql+psycopg://")


def test_an_expired_token_is_refused_everywhere(system: System) -> None:
    """Signed with the real current key (decrypted with the installation's SECRET_KEY) but expired."""
    from congress.db import signing_keys
    from congress.tokens import fernet_for
    from runtime.settings import CommonSettings

    _, token = user_token(system)
    kid = jwt.get_unverified_header(token)["kid"]
    engine = create_engine(_congress_database_url(system))
    with engine.connect() as conn:
        encrypted = conn.execute(select(signing_keys.c.private_key_encrypted).where(signing_keys.c.kid == kid)).scalar_one()
    engine.dispose()
    secret = system.services["congress"].env.get("SECRET_KEY") or CommonSettings().secret_key
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(fernet_for(secret).decrypt(encrypted), password=None)
    claims = jwt.decode(token, options={"verify_signature": False})
    genuine = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
    assert statuses(system, genuine) == {"congress": 200, "documents": 200, "signing": 200}  # the key is the real one
    claims.update(iat=time.time() - 3600, exp=int(time.time()) - 60, jti=uuid.uuid4().hex)
    expired = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
    assert statuses(system, expired) == {"congress": 401, "documents": 401, "signing": 401}


def test_a_deactivated_users_token_is_refused_everywhere_within_a_second(system: System) -> None:
    user_id, token = user_token(system)
    assert statuses(system, token) == {"congress": 200, "documents": 200, "signing": 200}
    r = httpx.post(f"{system.service_url('congress')}/api/users/{user_id}/deactivate", headers=admin_headers(system))
    assert r.status_code == 200 and r.json()["active"] is False
    assert within(1.0, lambda: statuses(system, token) == {"congress": 401, "documents": 401, "signing": 401})


def test_a_reactivated_user_logs_in_again_and_is_let_in_everywhere_but_old_tokens_stay_refused(
        system: System) -> None:
    user_id, old_token = user_token(system)
    users = f"{system.service_url('congress')}/api/users/{user_id}"
    assert httpx.post(f"{users}/deactivate", headers=admin_headers(system)).json()["active"] is False
    username = httpx.get(users, headers=admin_headers(system)).json()["username"]
    refused = login(system, username, PASSWORD)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "wrong_credentials"

    for _ in range(2):  # a second call changes nothing
        r = httpx.post(f"{users}/reactivate", headers=admin_headers(system))
        assert r.status_code == 200 and r.json()["active"] is True
    r = login(system, username, PASSWORD)
    assert r.status_code == 200, r.text
    new_token = r.json()["access_token"]
    assert within(2.0, lambda: statuses(system, new_token) == {"congress": 200, "documents": 200, "signing": 200})
    assert statuses(system, old_token) == {"congress": 401, "documents": 401, "signing": 401}
    audit = httpx.get(f"{system.service_url('congress')}/api/audit", params={"action": "user.reactivated"},
                      headers=admin_headers(system)).json()["items"]
    assert [a["target"] for a in audit].count(f"user:{user_id}") == 1


def test_a_logged_out_sessions_token_is_refused_everywhere_within_a_second(system: System) -> None:
    _, token = user_token(system)
    _, other_token = user_token(system)
    r = httpx.post(f"{system.service_url('congress')}/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert within(1.0, lambda: statuses(system, token) == {"congress": 401, "documents": 401, "signing": 401})
    assert statuses(system, other_token) == {"congress": 200, "documents": 200, "signing": 200}


def test_key_rotation_new_tokens_work_everywhere_and_old_ones_until_expiry(system: System) -> None:
    _, old_token = user_token(system)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    r = httpx.post(f"{system.service_url('congress')}/api/auth/keys/rotate", headers=admin_headers(system))
    assert r.status_code == 200
    new_kid = r.json()["kid"]
    assert new_kid != old_kid
    _, new_token = user_token(system)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert within(1.0, lambda: statuses(system, new_token) == {"congress": 200, "documents": 200, "signing": 200})
    assert statuses(system, old_token) == {"congress": 200, "documents": 200, "signing": 200}


def test_step_up_gives_a_fresh_auth_time_in_the_same_session(system: System) -> None:
    _, token = user_token(system)
    before = jwt.decode(token, options={"verify_signature": False})
    time.sleep(1.1)
    r = httpx.post(f"{system.service_url('congress')}/api/auth/reauth", json={"password": PASSWORD},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    after = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert after["sid"] == before["sid"] and after["auth_time"] > before["auth_time"]
    wrong = httpx.post(f"{system.service_url('congress')}/api/auth/reauth", json={"password": "not-it-at-all"},
                       headers={"Authorization": f"Bearer {token}"})
    assert wrong.status_code == 401


def test_two_congress_replicas_share_the_login_rate_limit(system: System, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = system.services["congress"].env
    shared = {k: env[k] for k in ("DATA_DIR", "ADMIN_USERNAME", "ADMIN_PASSWORD") if k in env}
    if "CONGRESS_DATABASE_URL" in env:
        shared["CONGRESS_DATABASE_URL"] = env["CONGRESS_DATABASE_URL"]
    replica = start_service("congress", system.nats_url, tmp_path / "replica", extra_env=shared)
    try:
        _, username = new_user(system)
        urls = [system.service_url("congress"), replica.url]
        for attempt in range(10):
            r = login(system, username, "wrong-password", base=urls[attempt % 2])
            assert r.status_code == 401, (attempt, r.text)
        for base in urls:
            refused = login(system, username, PASSWORD, base=base)
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["retry-after"]) > 0
            assert refused.json()["error"]["message"] == "Quá nhiều lần thử. Vui lòng chờ một lát rồi thử lại."
    finally:
        replica.stop()


def test_csrf_is_required_on_cookie_borne_unsafe_requests(system: System) -> None:
    _, username = new_user(system)
    with httpx.Client(base_url=system.service_url("congress")) as browser:
        assert browser.post("/api/auth/login", json={"username": username, "password": PASSWORD}).status_code == 200
        assert browser.get("/api/auth/me").status_code == 200  # a safe request rides the cookie alone
        refused = browser.post("/api/auth/reauth", json={"password": PASSWORD})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
        csrf = browser.cookies["csrf_token"]
        assert browser.post("/api/auth/refresh").status_code == 403
        assert browser.post("/api/auth/refresh", headers={"X-CSRF-Token": csrf}).status_code == 200
        ok = browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200
        assert browser.post("/api/auth/refresh", headers={"X-CSRF-Token": csrf}).status_code == 401  # session over


def test_bearer_calls_need_no_csrf_token(system: System) -> None:
    _, token = user_token(system)
    r = httpx.post(f"{system.service_url('congress')}/api/auth/reauth", json={"password": PASSWORD},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


@pytest.mark.parametrize(("language", "message"), [
    (None, "Mật khẩu phải có ít nhất 8 ký tự."),
    ("en", "The password must have at least 8 characters."),
    ("vi-VN,vi;q=0.9", "Mật khẩu phải có ít nhất 8 ký tự."),
])
def test_errors_in_vietnamese_by_default_and_english_on_request(system: System, language: str | None,
                                                                 message: str) -> None:
    headers = admin_headers(system) | ({"Accept-Language": language} if language else {})
    r = httpx.post(f"{system.service_url('congress')}/api/users", headers=headers,
                   json={"username": f"x-{secrets.token_hex(3)}", "password": "ngan", "full_name": "Vũ Thị Hà",
                         "roles": ["signer"]})
    assert r.status_code == 422
    assert r.json()["error"] == {"code": "weak_password", "message": message}


def test_staff_actions_reach_the_audit_trail(system: System) -> None:
    user_id, username = new_user(system)
    login(system, username, "wrong-password", headers={"User-Agent": "audit-probe/1.0"})
    headers = admin_headers(system)

    def found() -> bool:
        r = httpx.get(f"{system.service_url('congress')}/api/audit", headers=headers,
                      params={"action": "auth.login_failed"})
        return any(e["target"] == f"user:{user_id}" and e["user_agent"] == "audit-probe/1.0" and e["ip"] == "127.0.0.1"
                   for e in r.json()["items"])

    assert within(5.0, found)
    created = httpx.get(f"{system.service_url('congress')}/api/audit", headers=headers,
                        params={"action": "user.created", "actor": system.admin_username}).json()["items"]
    assert any(e["target"] == f"user:{user_id}" for e in created)
