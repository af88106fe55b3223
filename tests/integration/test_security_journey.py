"""Security checks against a real system (NATS, the three services as processes, Caddy) after a
scripted journey with hostile inputs: staff log in (API and console form), a congress, delegates
with phone numbers, uploads, a signature request that is rejected, a signed and published
document, scans, delegate pages, check-ins.

- publication, delegate-link and check-in secrets are unguessable (≥ 80 bits, from `secrets` or
  an HMAC under a per-installation key) and failed guesses are rate-limited while successful
  scans never are;
- cookies are HttpOnly (but the double-submit CSRF one), SameSite, and Secure behind TLS;
- cookie-authenticated forms need the CSRF token;
- no stored XSS through titles, names, file names or rejection reasons, in every page showing them;
- uploads never reach the filesystem under the name a user gave;
- private keys are never logged or returned; no log line (services, Caddy, NATS) holds a
  password, a token, a secret-bearing path or a delegate's phone number.

A system of its own, so that its logs hold this journey only. The rate-limit test runs last: it
leaves this client's address blocked for a minute.
"""

from __future__ import annotations

import base64
import inspect
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.system import System, start_system
from tests.support.workload import pdf_bytes

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'
RAW_MARKERS = ("<script>alert(", "<img src=x onerror")
PASSWORD = "Mật-khẩu-rất-dài-42"
PHONES = ["0912000111", "0987000222", "0903000333"]


@dataclass
class Journey:
    system: System
    secrets: dict[str, set[str]] = field(default_factory=dict)  # kind -> values that must never be logged
    responses: list[str] = field(default_factory=list)  # every response body of the journey
    congress_id: str = ""
    delegates: list[dict[str, Any]] = field(default_factory=list)
    publication: dict[str, Any] = field(default_factory=dict)
    rejected_request: str = ""
    signed_request: dict[str, Any] = field(default_factory=dict)
    upload_name: str = ""

    def keep(self, kind: str, value: str | None) -> None:
        if value:
            self.secrets.setdefault(kind, set()).add(value)

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        def remember(response: httpx.Response) -> None:
            response.read()
            if "pdf" not in response.headers.get("content-type", "") and len(response.content) < 2_000_000:
                self.responses.append(response.text)

        headers = kwargs.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        return httpx.Client(base_url=self.system.url, timeout=60, headers=headers,
                            event_hooks={"response": [remember]}, **kwargs)

    def login(self, username: str, password: str) -> tuple[str, httpx.Response]:
        with self.client() as c:
            answer = c.post("/api/auth/login", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        self.keep("password", password)
        self.keep("access token", body["access_token"])
        for name, value in answer.cookies.items():
            self.keep(f"{name} cookie", value)
        return body["access_token"], answer


def wait_until(condition, timeout: float = 60.0, what: str = ""):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    system = start_system(tmp_path_factory.mktemp("security"))
    try:
        yield run_journey(Journey(system))
    finally:
        system.stop()


def run_journey(j: Journey) -> Journey:
    admin_token, _ = j.login(j.system.admin_username, j.system.admin_password)
    admin = j.client(admin_token)
    names = {}
    for role in ("secretary", "signer"):
        username = f"{role}-{secrets.token_hex(3)}"
        answer = admin.post("/api/users", json={"username": username, "password": PASSWORD,
                                                "full_name": f"Nguyễn Thị {XSS}", "roles": [role]})
        assert answer.status_code == 201, answer.text
        names[role] = username
    secretary_token, _ = j.login(names["secretary"], PASSWORD)
    secretary = j.client(secretary_token)
    congress = secretary.post("/api/congresses", json={"title": f"Đại hội {XSS}", "organisation": f"Hội {XSS}",
                                                       "unit": f"Phường {XSS}", "venue": f"Hội trường {XSS}",
                                                       "quorum": 0.5})
    assert congress.status_code == 201, congress.text
    j.congress_id = cid = congress.json()["id"]
    assert secretary.post(f"/api/congresses/{cid}/staff", json={"username": names["signer"]}).status_code in (200, 201)
    agenda = secretary.post(f"/api/congresses/{cid}/agenda", json={"title": f"Báo cáo {XSS}"})
    assert agenda.status_code == 201, agenda.text
    for i, phone in enumerate(PHONES):
        answer = secretary.post(f"/api/congresses/{cid}/delegates", json={
            "full_name": f"Trần Thị {i} {XSS}", "unit": f"Chi hội {XSS}", "phone": phone,
            "email": f"dai-bieu-{i}@example.vn", "delegate_type": f"chính thức {XSS}"})
        assert answer.status_code == 201, answer.text
        delegate = answer.json()
        j.delegates.append(delegate)
        j.keep("phone", phone)
        j.keep("delegate link", delegate["personal_url"].rsplit("/d/", 1)[1])
        j.keep("check-in code", delegate["checkin_url"].rsplit("/c/", 1)[1])

    # uploads under hostile file names: one to be rejected, one to be signed and published
    j.upload_name = f"pwned-{secrets.token_hex(4)}"
    uploaded = []
    for i, file_name in enumerate((f"../../../../../tmp/{j.upload_name}.pdf", f"{XSS}{j.upload_name}.pdf")):
        answer = secretary.post("/api/documents", data={"congress_id": cid, "title": f"Tài liệu {i} {XSS}",
                                                        "kind": "report"},
                                files={"file": (file_name, pdf_bytes(f"Tài liệu {i}"), "application/pdf")})
        assert answer.status_code == 201, answer.text
        uploaded.append(answer.json())

    def request_for(document: dict[str, Any]) -> dict[str, Any]:
        body = {"document_id": document["id"], "version": 1,
                "signers": [{"username": names["signer"], "role": "signer"}], "message": f"Xin ký {XSS}"}
        answer = wait_until(lambda: (r := secretary.post("/api/signing/requests", json=body)).status_code == 201 and r,
                            what="signing knows the upload")
        return answer.json()

    signer_token, _ = j.login(names["signer"], PASSWORD)
    signer = j.client(signer_token)
    rejected = request_for(uploaded[0])
    answer = signer.post(f"/api/signing/requests/{rejected['id']}/reject", json={"reason": f"Sai số liệu {XSS}"})
    assert answer.status_code == 200, answer.text
    j.rejected_request = rejected["id"]
    to_sign = request_for(uploaded[1])
    signed = signer.post(f"/api/signing/requests/{to_sign['id']}/sign")
    assert signed.status_code == 200, signed.text
    j.signed_request = signed.json()
    wait_until(lambda: secretary.get(f"/api/documents/{uploaded[1]['id']}").json().get("approved_version"),
               what="the signed version approved")
    publication = wait_until(lambda: (r := secretary.post(f"/api/congresses/{cid}/publications", json={
        "document_id": uploaded[1]["id"], "audience": "public"})).status_code in (200, 201) and r,
        what="congress knows the approval")
    j.publication = publication.json()
    j.keep("publication token", j.publication["token"])

    # delegates scan, open their links; a secretary checks two in
    anonymous = j.client()
    for path in (f"/q/{j.publication['token']}", f"/q/{j.publication['token']}/file"):
        assert anonymous.get(path).status_code == 200
    for delegate in j.delegates:
        with j.client() as phone:
            assert phone.get(f"/d/{delegate['personal_url'].rsplit('/d/', 1)[1]}").status_code == 200
            for name, value in phone.cookies.items():
                j.keep(f"{name} cookie", value)
    for delegate in j.delegates[:2]:
        assert secretary.post(f"/api/congresses/{cid}/checkins", json={"delegate_id": delegate["id"]}).status_code \
            in (200, 201)
    # the console through its form, riding the cookies
    console = j.client(headers={"Accept": "text/html"})
    answer = console.post("/console/login", data={"username": names["secretary"], "password": PASSWORD,
                                                  "next": "/console/"})
    assert answer.status_code == 303, answer.text
    for name, value in console.cookies.items():
        j.keep(f"{name} cookie", value)
    j.console = console
    j.secretary = secretary
    j.signer = signer
    j.names = names
    return j


# --------------------------------------------------------------------------- secrets


def SECRETARY(journey: Journey) -> str:  # noqa: N802 - reads like the name it returns
    return journey.names["secretary"]  # type: ignore[attr-defined]


def url_secret_bits(value: str) -> int:
    """Bits in a base64url secret (its characters carry 6 bits each)."""
    assert re.fullmatch(r"[A-Za-z0-9_-]+", value), value
    return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) * 8


def test_secrets_are_made_unguessable_in_the_code() -> None:
    from congress.domain import delegate_secrets, publications

    assert publications.TOKEN_BYTES * 8 >= 80
    assert "secrets.token_urlsafe(TOKEN_BYTES)" in inspect.getsource(publications.new_token)
    assert delegate_secrets.SECRET_BYTES * 8 >= 80
    assert "hmac.new" in inspect.getsource(delegate_secrets._derive)  # under a key: not computable without it
    issued = {publications.new_token() for _ in range(2000)}
    assert len(issued) == 2000


def test_issued_secrets_are_long_and_distinct(journey: Journey) -> None:
    for kind in ("publication token", "delegate link", "check-in code"):
        values = journey.secrets[kind]
        assert all(url_secret_bits(v) >= 80 for v in values), (kind, values)
    links = journey.secrets["delegate link"] | journey.secrets["check-in code"]
    assert len(links) == 2 * len(journey.delegates)


def test_the_embedded_installation_makes_its_own_secret_key(tmp_path: Path) -> None:
    """Delegate secrets are an HMAC under SECRET_KEY: the venue laptop must not run with the
    public placeholder, or anyone who learnt a delegate's id could compute the link."""
    from runtime.launcher import installation_secret_key

    first = installation_secret_key("development-only-secret", tmp_path / "a")
    assert len(first) >= 43 and first == installation_secret_key("development-only-secret", tmp_path / "a")
    assert first != installation_secret_key("development-only-secret", tmp_path / "b")
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0
    assert installation_secret_key("x" * 40, tmp_path / "c") == "x" * 40


# --------------------------------------------------------------------------- cookies and CSRF


def cookie_attributes(response: httpx.Response) -> dict[str, dict[str, Any]]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            found[name] = {"httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"].lower(),
                           "secure": bool(morsel["secure"])}
    return found


def test_cookies_are_httponly_samesite_and_not_secure_over_plain_http(journey: Journey) -> None:
    with httpx.Client(base_url=journey.system.url, timeout=30) as c:
        # X-Forwarded-Proto from a client is overwritten by Caddy with the real scheme
        answer = c.post("/api/auth/login", json={"username": SECRETARY(journey), "password": PASSWORD},
                        headers={"X-Forwarded-Proto": "https"})
    cookies = cookie_attributes(answer)
    assert {"session", "csrf_token"} <= set(cookies), cookies
    for name, attributes in cookies.items():
        assert attributes["samesite"] in ("lax", "strict"), (name, attributes)
        assert attributes["httponly"] == (name != "csrf_token"), (name, attributes)  # double submit reads it
        assert not attributes["secure"], (name, "a client's X-Forwarded-Proto must not be believed")


def test_cookies_are_secure_behind_tls(journey: Journey) -> None:
    """Caddy terminates TLS and tells the service with X-Forwarded-Proto; the services believe that
    header from Caddy's address only (uvicorn --forwarded-allow-ips 127.0.0.1). Here the test
    stands where Caddy stands (127.0.0.1) and speaks to the service directly."""
    congress = journey.system.service_url("congress")
    with httpx.Client(base_url=congress, timeout=30, headers={"X-Forwarded-Proto": "https"}) as c:
        api = c.post("/api/auth/login", json={"username": SECRETARY(journey), "password": PASSWORD})
        form = c.post("/console/login", data={"username": SECRETARY(journey), "password": PASSWORD,
                                              "next": "/console/"}, headers={"Accept": "text/html"})
        delegate = c.get(f"/d/{journey.delegates[0]['personal_url'].rsplit('/d/', 1)[1]}")
    for response in (api, form, delegate):
        cookies = cookie_attributes(response)
        assert cookies, response.status_code
        for name, attributes in cookies.items():
            if name == "lang":
                continue
            assert attributes["secure"], (response.request.url.path, name, attributes)
            assert attributes["samesite"] in ("lax", "strict"), (name, attributes)


def test_cookie_riding_forms_need_the_csrf_token(journey: Journey) -> None:
    console: httpx.Client = journey.console
    title = f"Hội nghị {secrets.token_hex(3)}"
    refused = console.post("/console/congresses", data={"title": title, "quorum": "50"})
    assert refused.status_code == 403, refused.status_code
    forged = console.post("/console/congresses", data={"title": title, "quorum": "50", "csrf_token": "sai"})
    assert forged.status_code == 403, forged.status_code
    api_forged = console.post("/api/congresses", json={"title": title})
    assert api_forged.status_code == 403, api_forged.status_code
    accepted = console.post("/console/congresses", data={"title": title, "quorum": "50",
                                                         "csrf_token": console.cookies["csrf_token"]})
    assert accepted.status_code in (200, 303), accepted.text[:300]
    listed = journey.secretary.get("/api/congresses").json()["items"]
    assert sum(c["title"] == title for c in listed) == 1


# --------------------------------------------------------------------------- stored XSS


def pages_showing_payloads(j: Journey) -> dict[str, tuple[httpx.Client, str]]:
    cid = j.congress_id
    console: httpx.Client = j.console
    signer_page = httpx.Client(base_url=j.system.url, timeout=30, headers={"Accept": "text/html"})
    answer = signer_page.post("/console/login", data={"username": j.names["signer"], "password": PASSWORD,
                                                      "next": "/console/"})
    assert answer.status_code in (303, 403), answer.status_code  # a signer has no console, but gets the cookie
    pages = {f"console {p}": (console, f"/console/congresses/{cid}{p}")
             for p in ("", "/delegates", "/documents", "/desk", "/dashboard")}
    pages["console list"] = (console, "/console/congresses")
    pages["scan page"] = (httpx.Client(base_url=j.system.url, timeout=30), f"/q/{j.publication['token']}")
    for i, delegate in enumerate(j.delegates):
        pages[f"delegate page {i}"] = (httpx.Client(base_url=j.system.url, timeout=30),
                                       f"/d/{delegate['personal_url'].rsplit('/d/', 1)[1]}")
    pages["badge page"] = (console, f"/c/{j.delegates[0]['checkin_url'].rsplit('/c/', 1)[1]}")
    pages["sign page (rejected)"] = (signer_page, f"/sign/{j.rejected_request}")
    pages["sign page (signed)"] = (signer_page, f"/sign/{j.signed_request['id']}")
    pages["verify page"] = (httpx.Client(base_url=j.system.url, timeout=30),
                            f"/verify/{j.signed_request['signers'][0]['verification_code']}")
    return pages


def test_no_stored_xss_in_any_page_that_shows_user_text(journey: Journey) -> None:
    escaped_seen = 0
    for what, (client, path) in pages_showing_payloads(journey).items():
        answer = client.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 200, (what, answer.status_code, answer.text[:300])
        html = answer.text
        for marker in RAW_MARKERS:
            assert marker not in html, f"{what}: unescaped {marker!r} in {path}"
        escaped_seen += html.count("&lt;script&gt;alert(")
        assert "&lt;script&gt;alert(" in html, f"{what}: the payload is not shown at all (nothing proven)"
    assert escaped_seen > 0


def test_api_errors_and_downloads_do_not_reflect_file_names_raw(journey: Journey) -> None:
    """The file name a user gave comes back only quoted in Content-Disposition, never as markup."""
    secretary: httpx.Client = journey.secretary
    docs = secretary.get("/api/documents", params={"congress_id": journey.congress_id}).json()["items"]
    for doc in docs:
        answer = secretary.get(f"/api/documents/{doc['id']}/file", params={"version": 1})
        assert answer.status_code == 200
        disposition = answer.headers.get("content-disposition", "")
        assert "<" not in disposition and "\n" not in disposition, disposition
        assert answer.headers.get("content-type", "").startswith("application/pdf")


# --------------------------------------------------------------------------- files, keys, logs


def test_uploads_never_touch_the_filesystem_under_the_given_name(journey: Journey) -> None:
    name = journey.upload_name
    roots = [journey.system.data_dir, Path("/tmp")]
    for root in roots:
        hits = [p for p in root.rglob(f"*{name}*")] if root.exists() else []
        assert hits == [], hits
    for path in journey.system.data_dir.rglob("*"):
        assert "<script" not in path.name and ".." not in path.name, path


def key_material_patterns() -> list[re.Pattern[str]]:
    return [re.compile(p) for p in (r"PRIVATE KEY", r"private_key", r'"d"\s*:\s*"[A-Za-z0-9_-]{40,}"',
                                    r"BEGIN EC", r"BEGIN RSA", r"private_key_encrypted")]


def log_files(system: System) -> list[Path]:
    return sorted((system.data_dir / "logs").glob("*.log"))


def test_private_keys_are_never_logged_or_returned(journey: Journey) -> None:
    ca = httpx.get(f"{journey.system.url}/api/signing/ca.pem", timeout=30)
    journey.responses.append(ca.text)
    assert "BEGIN CERTIFICATE" in ca.text
    texts = {f"response {i}": body for i, body in enumerate(journey.responses)}
    texts |= {str(p): p.read_text(errors="replace") for p in log_files(journey.system)}
    for where, text in texts.items():
        for pattern in key_material_patterns():
            assert not pattern.search(text), f"{pattern.pattern!r} in {where}"


def test_no_log_line_holds_a_password_token_secret_path_or_phone(journey: Journey) -> None:
    files = log_files(journey.system)
    assert {p.name for p in files} >= {"congress.log", "documents.log", "signing.log", "caddy.log"}
    leaks = []
    needles: list[tuple[str, str]] = []
    for kind, values in journey.secrets.items():
        for value in values:
            needles.append((kind, value))
            if kind == "access token":
                needles.append(("token signature", value.rsplit(".", 1)[1]))
    caddy = (journey.system.data_dir / "logs" / "caddy.log").read_text(errors="replace")
    assert "/q/" in caddy or "/d/" in caddy, "Caddy's access log did not record the delegate pages"
    for path in files:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            for kind, value in needles:
                if len(value) >= 8 and value in line:
                    leaks.append(f"{path.name}:{number}: {kind}")
            for prefix in ("/q/", "/d/", "/c/"):
                for m in re.finditer(re.escape(prefix) + r"([A-Za-z0-9_-]{8,})", line):
                    if m.group(1) not in ("***",):
                        leaks.append(f"{path.name}:{number}: a secret-bearing path {prefix}…")
    assert not leaks, "\n".join(sorted(set(leaks))[:30])


# --------------------------------------------------------------------------- guessing (last)


def test_failed_guesses_are_rate_limited_and_good_scans_never_are(journey: Journey) -> None:
    with httpx.Client(base_url=journey.system.url, timeout=30) as c:
        statuses = [c.get(f"/q/{secrets.token_urlsafe(12)}").status_code for _ in range(45)]
        assert statuses[0] == 404 and 429 in statuses, statuses
        first_429 = statuses.index(429)
        assert 25 <= first_429 <= 35, statuses
        limited = c.get(f"/d/{secrets.token_urlsafe(16)}")
        blocked = c.get(f"/q/{secrets.token_urlsafe(12)}")
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        # the real code still works for the same client, every time
        good = [c.get(f"/q/{journey.publication['token']}").status_code for _ in range(100)]
        assert set(good) == {200}, good
        assert limited.status_code in (404, 429)
    uuid.UUID(journey.congress_id)
