"""A congress workload against the cluster system, one HTTP operation at a time through Caddy.

Steps come in rounds (a congress: staff, delegates, an upload, a signature, check-ins, the
close). A step runs only when every endpoint it needs is among the services' routes; when
one is missing, the step is recorded as absent (and reported), never silently passed: a step
whose endpoints exist and fails, fails the test.

A client does what a browser would: on 503 (or a dropped connection) it waits for
Retry-After and tries again; any other 5xx is recorded and fails the test.
"""

from __future__ import annotations

import io
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRY_FOR_SECONDS = 90.0

Route = tuple[str, str, str]  # service, METHOD, path template


@dataclass(frozen=True)
class Step:
    name: str
    needs: tuple[Route, ...]


LOGIN = Step("login", (("congress", "POST", "/api/auth/login"),))
USERS = Step("users", (("congress", "POST", "/api/users"), ("congress", "GET", "/api/users")))
CONGRESSES = Step("congresses", (("congress", "POST", "/api/congresses"), ("congress", "GET", "/api/congresses")))
STAFF = Step("staff", (("congress", "POST", "/api/congresses/{congress_id}/staff"),))
DELEGATES = Step("delegates", (("congress", "POST", "/api/congresses/{congress_id}/delegates"),
                               ("congress", "GET", "/api/congresses/{congress_id}/delegates")))
UPLOADS = Step("uploads", (("documents", "POST", "/api/documents"), ("documents", "GET", "/api/documents")))
SIGNATURES = Step("signatures", (("signing", "POST", "/api/signing/requests"),
                                 ("signing", "POST", "/api/signing/requests/{request_id}/sign"),
                                 ("signing", "GET", "/api/signing/requests/{request_id}")))
CHECKINS = Step("check-ins", (("congress", "POST", "/api/congresses/{congress_id}/checkins"),
                              ("congress", "GET", "/api/congresses/{congress_id}/checkins")))
CLOSES = Step("closes", (("congress", "POST", "/api/congresses/{congress_id}/close"),))
SEALED = Step("sealed records", (("documents", "GET", "/api/archive/records"),))

STEPS = (LOGIN, USERS, CONGRESSES, STAFF, DELEGATES, UPLOADS, SIGNATURES, CHECKINS, CLOSES, SEALED)


def pdf_bytes(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


@dataclass
class Workload:
    base_url: str
    routes: set[Route]
    admin_username: str
    admin_password: str
    on_operation: Callable[[int], None] = lambda ops: None
    operations: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    retried: int = 0
    created: dict[str, list[str]] = field(default_factory=dict)  # step -> unique keys
    ran: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=30)
        self.run_id = uuid.uuid4().hex[:8]

    # ------------------------------------------------------------------ plumbing
    def available(self, step: Step) -> bool:
        return all(route in self.routes for route in step.needs)

    def absent(self) -> dict[str, list[str]]:
        """Steps that could not run, with the endpoints they miss."""
        return {
            step.name: [f"{m} {p} ({s})" for s, m, p in step.needs if (s, m, p) not in self.routes]
            for step in STEPS
            if not self.available(step)
        }

    def call(self, method: str, path: str, *, token: str | None = None, ok: tuple[int, ...] = (200, 201),
             eventually: bool = False, **kwargs: Any) -> httpx.Response:
        """One operation. `eventually`: what it refers to arrives by event in the service that
        answers (an upload known to signing), so a 404/409 is retried for a while."""
        headers = kwargs.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while True:
            try:
                response = self.client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError:
                response = None
            status = response.status_code if response is not None else 0
            self.statuses[status] += 1
            if response is not None and status >= 500 and status != 503:
                self.server_errors.append(f"{method} {path} -> {status}: {response.text[:300]}")
            propagating = eventually and status in (404, 409)
            if response is not None and status not in (502, 503, 504) and not propagating:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} still unavailable after {RETRY_FOR_SECONDS:.0f}s")
            self.retried += 1
            retry_after = float(response.headers.get("Retry-After", "1")) if response is not None else 0.5
            time.sleep(0.2 if propagating else min(retry_after, 2.0))
        self.operations += 1
        self.on_operation(self.operations)
        assert response.status_code in ok, f"{method} {path} -> {response.status_code}: {response.text[:500]}"
        return response

    def remember(self, step: Step, key: str) -> None:
        self.ran.add(step.name)
        self.created.setdefault(step.name, []).append(key)

    def login(self, username: str, password: str) -> str:
        body = self.call("POST", "/api/auth/login", json={"username": username, "password": password}).json()
        return body["access_token"]

    # ------------------------------------------------------------------ the workload
    def setup(self) -> None:
        assert self.available(LOGIN), "the workload cannot start without login: " + str(self.absent())
        self.admin = self.login(self.admin_username, self.admin_password)
        self.ran.add(LOGIN.name)
        self.secretary = self.signer = self.admin
        self.signer_username = self.admin_username
        if self.available(USERS):
            password = f"pw-{self.run_id}-Secret!"
            names = {"secretary": f"thu-ky-{self.run_id}", "signer": f"chu-tich-{self.run_id}"}
            for role, username in names.items():
                self.call("POST", "/api/users", token=self.admin, json={
                    "username": username, "password": password, "full_name": f"Nguyễn Thị {role.title()}",
                    "roles": [role],
                })
                self.remember(USERS, username)
            self.secretary = self.login(names["secretary"], password)
            self.signer = self.login(names["signer"], password)
            self.signer_username = names["signer"]

    def round(self, index: int, delegates: int = 6) -> None:
        if not self.available(CONGRESSES):
            return
        title = f"Đại hội đại biểu lần thứ {index} — {self.run_id}"
        congress = self.call("POST", "/api/congresses", token=self.secretary, json={
            "title": title, "organisation": "Hội Liên hiệp Phụ nữ", "unit": f"Phường {index}", "venue": "Hội trường",
        }).json()
        congress_id = congress["id"]
        self.remember(CONGRESSES, title)
        if self.available(STAFF) and self.available(USERS):
            self.call("POST", f"/api/congresses/{congress_id}/staff", token=self.secretary,
                      json={"username": self.signer_username}, ok=(200, 201))
            self.remember(STAFF, f"{congress_id}:{self.signer_username}")
        delegate_ids = []
        if self.available(DELEGATES):
            for d in range(delegates):
                name = f"Trần Thị Đại Biểu {index}-{d}"
                body = self.call("POST", f"/api/congresses/{congress_id}/delegates", token=self.secretary,
                                 json={"full_name": name, "unit": f"Chi hội {d}"}).json()
                delegate_ids.append(body["id"])
                self.remember(DELEGATES, f"{congress_id}:{name}")
        document = None
        if self.available(UPLOADS):
            doc_title = f"Báo cáo chính trị {index} — {self.run_id}"
            document = self.call(
                "POST", "/api/documents", token=self.secretary,
                data={"congress_id": congress_id, "title": doc_title, "kind": "report"},
                files={"file": (f"bao-cao-{index}.pdf", pdf_bytes(doc_title), "application/pdf")},
            ).json()
            self.remember(UPLOADS, f"{congress_id}:{doc_title}")
        if document is not None and self.available(SIGNATURES):
            self.sign(document)
        if self.available(CHECKINS):
            for delegate_id in delegate_ids:
                self.call("POST", f"/api/congresses/{congress_id}/checkins", token=self.secretary,
                          json={"delegate_id": delegate_id})
                self.remember(CHECKINS, f"{congress_id}:{delegate_id}")
        if self.available(CLOSES):
            self.call("POST", f"/api/congresses/{congress_id}/close", token=self.secretary)
            self.remember(CLOSES, congress_id)

    def sign(self, document: dict[str, Any]) -> None:
        version = document.get("version") or (document.get("versions") or [{}])[-1].get("version") or 1
        request = self.call("POST", "/api/signing/requests", token=self.secretary, eventually=True, json={
            "document_id": document["id"], "version": version,
            "signers": [{"username": self.signer_username, "role": "signer"}],
        }).json()
        self.call("POST", f"/api/signing/requests/{request['id']}/sign", token=self.signer)
        self.remember(SIGNATURES, request["id"])

    # ------------------------------------------------------------------ afterwards
    def list_all(self, path: str, token: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = params | ({"cursor": cursor} if cursor else {})
            page = self.call("GET", path, token=token, params=query).json()
            items += page["items"]
            cursor = page.get("next")
            if not cursor:
                return items
