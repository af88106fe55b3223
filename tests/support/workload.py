"""A congress workload against a running system, one HTTP operation at a time through Caddy.

Shared by the cluster test (tests/cluster), the crash tests (tests/chaos) and the load tests.

Steps come in rounds (a congress: staff, delegates, an upload, a signature, a publication and
its scans, check-ins, the close). A step runs only when every endpoint it needs is among the
services' routes (read from their /openapi.json); when one is missing, the step is recorded as
absent (and reported), never silently passed: a step whose endpoints exist and fails, fails.

A client does what a careful browser would: on 503 (or a dropped connection, or Caddy's 502
while a service restarts) it waits for Retry-After and tries again; any other 5xx is recorded
and fails the test. A create that died without an answer is ambiguous (the service may have
committed before it was killed): the client looks for what it created before sending it again,
so a duplicate found afterwards is the services' fault, not the client's.

`expected_state_problems()` reads every service's state back through the APIs and compares it
with what the workload did; `stream_report()` counts duplicates in the event streams and dead
letters.
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
AMBIGUOUS = (0, 502, 504)  # no answer from the service itself: it may or may not have committed

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
PUBLICATIONS = Step("publications", (("congress", "POST", "/api/congresses/{congress_id}/publications"),
                                     ("congress", "GET", "/api/congresses/{congress_id}/publications"),
                                     ("documents", "GET", "/api/documents/{document_id}")))
SCANS = Step("scans", (("congress", "GET", "/q/{token}"), ("congress", "GET", "/q/{token}/file")))
CHECKINS = Step("check-ins", (("congress", "POST", "/api/congresses/{congress_id}/checkins"),
                              ("congress", "GET", "/api/congresses/{congress_id}/attendance")))
CLOSES = Step("closes", (("congress", "POST", "/api/congresses/{congress_id}/close"),))
SEALED = Step("sealed records", (("documents", "GET", "/api/archive/records/{congress_id}"),
                                 ("documents", "POST", "/api/archive/records/{congress_id}/verify")))

STEPS = (LOGIN, USERS, CONGRESSES, STAFF, DELEGATES, UPLOADS, SIGNATURES, PUBLICATIONS, SCANS, CHECKINS, CLOSES,
         SEALED)

CURSOR_PARAM = {"/api/congresses": "after"}  # list endpoints whose cursor parameter is not `cursor`


def openapi_routes(base_url: str, services: tuple[str, ...] = ("congress", "documents", "signing")) -> set[Route]:
    """(service, METHOD, path template) of every route the running services serve, from
    `/<service>/openapi.json` at the entry point."""
    routes: set[Route] = set()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for name in services:
            document = client.get(f"/{name}/openapi.json").raise_for_status().json()
            for path, operations in document["paths"].items():
                routes.update((name, method.upper(), path) for method in operations)
    return routes


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF of its own bytes (Vietnamese drawn with the project's font)."""
    import secrets

    from reportlab.pdfgen import canvas

    from runtime.pdf import register_fonts

    font = register_fonts()
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.setFont(font, 12)
    page.drawString(72, 720, text)
    page.drawString(72, 700, secrets.token_hex(8))
    page.showPage()
    page.save()
    return buffer.getvalue()


@dataclass
class CongressPlan:
    """What one round did to one congress: the state every service must end up with."""

    title: str
    id: str = ""
    delegates: dict[str, str] = field(default_factory=dict)  # full name -> id
    documents: dict[str, str] = field(default_factory=dict)  # title -> id
    requests: dict[str, str] = field(default_factory=dict)  # document id -> request id
    publications: dict[str, str] = field(default_factory=dict)  # document id -> token
    checked_in: set[str] = field(default_factory=set)  # delegate ids
    duplicate_checkins: int = 0  # repeated scans, each answered with the first check-in
    closed: bool = False


@dataclass
class Workload:
    base_url: str
    routes: set[Route]
    admin_username: str
    admin_password: str
    on_operation: Callable[[int], None] = lambda ops: None
    delegates_per_round: int = 6
    checkins_per_round: int = 4
    scans_per_publication: int = 2
    operations: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    retried: int = 0
    ambiguous: int = 0
    created: dict[str, list[str]] = field(default_factory=dict)  # step -> unique keys
    ran: set[str] = field(default_factory=set)
    plans: list[CongressPlan] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=30)
        self.run_id = uuid.uuid4().hex[:8]
        self.password = f"pw-{self.run_id}-Secret!"

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
             eventually: bool = False, find: Callable[[], dict[str, Any] | None] | None = None,
             **kwargs: Any) -> httpx.Response:
        """One operation. `eventually`: what it refers to arrives by event in the service that
        answers (an upload known to signing), so a 404/409 is retried for a while. `find`: for a
        create that is not idempotent, looks for what it made when an attempt got no answer."""
        headers = kwargs.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while True:
            try:
                response = self.client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError:
                response = None
            status = response.status_code if response is not None else 0
            self.statuses[status] += 1
            if response is not None and status >= 500 and status not in (502, 503, 504):
                self.server_errors.append(f"{method} {path} -> {status}: {response.text[:300]}")
            if status in AMBIGUOUS and find is not None:
                self.ambiguous += 1
                found = self._find_after_restart(find, deadline)
                if found is not None:
                    response = httpx.Response(200, json=found, request=httpx.Request(method, path))
                    break
            propagating = eventually and status in (404, 409)
            if response is not None and status not in (502, 503, 504) and not propagating:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} still unavailable after {RETRY_FOR_SECONDS:.0f}s "
                                     f"(last status {status})")
            self.retried += 1
            retry_after = float(response.headers.get("Retry-After", "1")) if response is not None else 0.5
            time.sleep(0.2 if propagating else min(retry_after, 2.0))
        self.operations += 1
        self.on_operation(self.operations)
        assert response.status_code in ok, f"{method} {path} -> {response.status_code}: {response.text[:500]}"
        return response

    def _find_after_restart(self, find: Callable[[], dict[str, Any] | None], deadline: float) -> dict[str, Any] | None:
        """`find()` once the service answers again (it may be restarting)."""
        while True:
            try:
                return find()
            except (httpx.TransportError, _Unavailable):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _get(self, path: str, token: str, **params: Any) -> dict[str, Any]:
        """A read used while reconciling: raises _Unavailable instead of retrying itself."""
        response = self.client.get(path, headers={"Authorization": f"Bearer {token}"}, params=params)
        if response.status_code in (502, 503, 504):
            raise _Unavailable(path)
        response.raise_for_status()
        return response.json()

    def _find_in(self, path: str, token: str, key: str, value: str, **params: Any) -> dict[str, Any] | None:
        cursor_param = CURSOR_PARAM.get(path, "cursor")
        cursor = None
        while True:
            page = self._get(path, token, **params, **({cursor_param: cursor} if cursor else {}))
            for item in page["items"]:
                if item.get(key) == value:
                    return item
            cursor = page.get("next")
            if not cursor:
                return None

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
        self.secretary = self.signer = self.archivist = self.admin
        self.signer_username = self.admin_username
        self.signer_password = self.admin_password
        if self.available(USERS):
            names = {"secretary": f"thu-ky-{self.run_id}", "signer": f"chu-tich-{self.run_id}",
                     "archivist": f"luu-tru-{self.run_id}"}
            for role, username in names.items():
                self.call("POST", "/api/users", token=self.admin, json={
                    "username": username, "password": self.password, "full_name": f"Nguyễn Thị {role.title()}",
                    "roles": [role],
                }, find=lambda u=username: self._find_in("/api/users", self.admin, "username", u))
                self.remember(USERS, username)
            self.secretary = self.login(names["secretary"], self.password)
            self.signer = self.login(names["signer"], self.password)
            self.archivist = self.login(names["archivist"], self.password)
            self.signer_username, self.signer_password = names["signer"], self.password

    def round(self, index: int, delegates: int | None = None) -> CongressPlan | None:
        if not self.available(CONGRESSES):
            return None
        delegates = self.delegates_per_round if delegates is None else delegates
        plan = CongressPlan(f"Đại hội đại biểu lần thứ {index} — {self.run_id}")
        congress = self.call("POST", "/api/congresses", token=self.secretary, json={
            "title": plan.title, "organisation": "Hội Liên hiệp Phụ nữ", "unit": f"Phường {index}",
            "venue": "Hội trường", "quorum": 0.5,
        }, find=lambda: self._find_in("/api/congresses", self.secretary, "title", plan.title)).json()
        plan.id = congress_id = congress["id"]
        self.plans.append(plan)
        self.remember(CONGRESSES, plan.title)
        if self.available(STAFF) and self.available(USERS):
            self.call("POST", f"/api/congresses/{congress_id}/staff", token=self.secretary,
                      json={"username": self.signer_username}, ok=(200, 201))
            self.remember(STAFF, f"{congress_id}:{self.signer_username}")
        if self.available(DELEGATES):
            for d in range(delegates):
                name = f"Trần Thị Đại Biểu {index}-{d}"
                body = self.call(
                    "POST", f"/api/congresses/{congress_id}/delegates", token=self.secretary,
                    json={"full_name": name, "unit": f"Chi hội {d}", "phone": f"09{index:04d}{d:04d}"},
                    find=lambda n=name: self._find_in(f"/api/congresses/{congress_id}/delegates", self.secretary,
                                                      "full_name", n),
                ).json()
                plan.delegates[name] = body["id"]
                self.remember(DELEGATES, f"{congress_id}:{name}")
        document = None
        if self.available(UPLOADS):
            doc_title = f"Báo cáo chính trị {index} — {self.run_id}"
            document = self.call(
                # eventually: the documents service learns of the congress from its event
                "POST", "/api/documents", token=self.secretary, eventually=True,
                data={"congress_id": congress_id, "title": doc_title, "kind": "report"},
                files={"file": (f"bao-cao-{index}.pdf", pdf_bytes(doc_title), "application/pdf")},
                find=lambda: self._find_in("/api/documents", self.secretary, "title", doc_title,
                                           congress_id=congress_id),
            ).json()
            plan.documents[doc_title] = document["id"]
            self.remember(UPLOADS, f"{congress_id}:{doc_title}")
        if document is not None and self.available(SIGNATURES):
            plan.requests[document["id"]] = self.sign(document)
        if document is not None and self.available(PUBLICATIONS) and document["id"] in plan.requests:
            self.publish(plan, document["id"])
        if self.available(CHECKINS):
            for delegate_id in list(plan.delegates.values())[: self.checkins_per_round]:
                self.call("POST", f"/api/congresses/{congress_id}/checkins", token=self.secretary,
                          json={"delegate_id": delegate_id})
                plan.checked_in.add(delegate_id)
                self.remember(CHECKINS, f"{congress_id}:{delegate_id}")
            if plan.checked_in:
                # a second scan of the same badge: 200 with the first check-in's time, no new fact
                delegate_id = sorted(plan.checked_in)[0]
                first = self.call("POST", f"/api/congresses/{congress_id}/checkins", token=self.secretary,
                                  json={"delegate_id": delegate_id}, ok=(200,)).json()
                assert first.get("already_checked_in") is True, first
                plan.duplicate_checkins += 1
        if self.available(CLOSES):
            # eventually: the close is refused (409) until the congress service has heard that the
            # signature request completed
            self.call("POST", f"/api/congresses/{congress_id}/close", token=self.secretary, eventually=True)
            plan.closed = True
            self.remember(CLOSES, congress_id)
        return plan

    def sign(self, document: dict[str, Any]) -> str:
        version = document.get("version") or (document.get("versions") or [{}])[-1].get("version") or 1
        request = self.call("POST", "/api/signing/requests", token=self.secretary, eventually=True, json={
            "document_id": document["id"], "version": version,
            "signers": [{"username": self.signer_username, "role": "signer"}],
        }).json()
        if self.signer is not self.admin:  # a signature needs a password typed in the last minutes
            self.signer = self.login(self.signer_username, self.signer_password)
        self.call("POST", f"/api/signing/requests/{request['id']}/sign", token=self.signer)
        self.remember(SIGNATURES, request["id"])
        return request["id"]

    def publish(self, plan: CongressPlan, document_id: str) -> None:
        """Publish the signed version once the documents service has approved it, then scan it."""
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while True:
            doc = self.call("GET", f"/api/documents/{document_id}", token=self.secretary).json()
            if doc.get("approved_version"):
                break
            assert time.monotonic() < deadline, f"document {document_id} never approved: {doc}"
            time.sleep(0.2)
        publication = self.call("POST", f"/api/congresses/{plan.id}/publications", token=self.secretary,
                                json={"document_id": document_id, "audience": "public"}, eventually=True).json()
        plan.publications[document_id] = publication["token"]
        self.remember(PUBLICATIONS, publication["id"])
        if self.available(SCANS):
            for _ in range(self.scans_per_publication):
                self.call("GET", f"/q/{publication['token']}")
                self.call("GET", f"/q/{publication['token']}/file")
                self.remember(SCANS, publication["token"])

    # ------------------------------------------------------------------ afterwards
    def list_all(self, path: str, token: str, **params: Any) -> list[dict[str, Any]]:
        cursor_param = CURSOR_PARAM.get(path, "cursor")
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = params | ({cursor_param: cursor} if cursor else {})
            page = self.call("GET", path, token=token, params=query).json()
            items += page["items"]
            cursor = page.get("next")
            if not cursor:
                return items

    def wait_sealed(self, congress_id: str, timeout: float = 120.0) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        record = None
        while time.monotonic() < deadline:
            answer = self.call("GET", f"/api/archive/records/{congress_id}", token=self.archivist, ok=(200, 404))
            record = answer.json() if answer.status_code == 200 else None
            if record and record.get("state") == "sealed":
                return record
            time.sleep(0.5)
        return record

    def expected_state_problems(self) -> list[str]:
        """Every difference between what the services hold and what the workload did."""
        problems: list[str] = []
        if USERS.name in self.ran:
            usernames = Counter(u["username"] for u in self.list_all("/api/users", self.admin))
            problems += [f"user {n}: {usernames[n]} accounts" for n in self.created[USERS.name] if usernames[n] != 1]
        if not self.plans:
            return problems
        titles = Counter(c["title"] for c in self.list_all("/api/congresses", self.secretary))
        for plan in self.plans:
            where = f"congress {plan.title!r}"
            if titles[plan.title] != 1:
                problems.append(f"{where}: {titles[plan.title]} congresses")
            names = Counter(d["full_name"] for d in
                            self.list_all(f"/api/congresses/{plan.id}/delegates", self.secretary))
            if sorted(names.elements()) != sorted(plan.delegates):
                problems.append(f"{where}: delegates {dict(names)} != {sorted(plan.delegates)}")
            if plan.documents:
                docs = Counter(d["title"] for d in self.list_all("/api/documents", self.secretary, congress_id=plan.id))
                if sorted(docs.elements()) != sorted(plan.documents):
                    problems.append(f"{where}: documents {dict(docs)} != {sorted(plan.documents)}")
            for document_id, request_id in plan.requests.items():
                request = self.call("GET", f"/api/signing/requests/{request_id}", token=self.secretary).json()
                signed = [s for s in request.get("signers", []) if s.get("signed_at") or s.get("state") == "signed"]
                if len(signed) != 1 or request.get("state") != "completed":
                    problems.append(f"{where}: request {request_id} is {request.get('state')}, {len(signed)} signed")
                others = [r for r in self.list_all("/api/signing/requests", self.secretary, congress_id=plan.id)
                          if r.get("document_id") == document_id]
                if len(others) != 1:
                    problems.append(f"{where}: {len(others)} signature requests for document {document_id}")
            if PUBLICATIONS.name in self.ran:
                published = Counter(p["document_id"] for p in
                                    self.list_all(f"/api/congresses/{plan.id}/publications", self.secretary))
                if sorted(published.elements()) != sorted(plan.publications):
                    problems.append(f"{where}: publications {dict(published)} != {sorted(plan.publications)}")
                for token in plan.publications.values():
                    for suffix in ("", "/file"):  # the page, and the signed bytes behind it
                        scanned = self.client.get(f"/q/{token}{suffix}")
                        if scanned.status_code != 200:
                            problems.append(f"{where}: /q/<token>{suffix} answers {scanned.status_code}")
            if CHECKINS.name in self.ran:
                attendance = self.call("GET", f"/api/congresses/{plan.id}/attendance", token=self.secretary).json()
                if attendance.get("present") != len(plan.checked_in) or attendance.get("registered") != len(
                        plan.delegates):
                    problems.append(f"{where}: attendance {attendance.get('registered')}/{attendance.get('present')}"
                                    f" != {len(plan.delegates)}/{len(plan.checked_in)}")
            if plan.closed and self.available(SEALED):
                self.ran.add(SEALED.name)
                record = self.wait_sealed(plan.id)
                if record is None or record.get("state") != "sealed":
                    problems.append(f"{where}: archive record {record and record.get('state')}")
                    continue
                counts = record.get("counts") or {}
                expected = {"delegates": len(plan.delegates), "present": len(plan.checked_in)}
                if {k: counts.get(k) for k in expected} != expected:
                    problems.append(f"{where}: archive counts {counts} != {expected}")
                verified = self.call("POST", f"/api/archive/records/{plan.id}/verify", token=self.archivist).json()
                if verified.get("intact") is not True:
                    problems.append(f"{where}: archive record not intact: {verified.get('problems')}")
        return problems

    def summary(self) -> str:
        return (f"operations: {self.operations}, retried (503/502/dropped): {self.retried}, ambiguous creates "
                f"reconciled: {self.ambiguous}, statuses: {dict(sorted(self.statuses.items()))}")


class _Unavailable(Exception):
    """A read answered 502/503/504 while reconciling: try again."""


# --------------------------------------------------------------------------- streams


async def stream_report(js: Any, *, dedupe_keys: bool = True) -> dict[str, Any]:
    """Per event stream: message ids seen twice (or missing) and events of one fact stored
    twice under different ids; the dead letters with their reasons.

    "One fact" is the subject plus the ids that name it (a check-in of one delegate, a signature of
    one request by one signer, one sealed record...), so a producer that re-emitted an event
    under a new id would show up here even though JetStream's de-duplication could not catch it.
    `facts` counts every one of them, so a caller can also see that a fact is there at all.
    """
    import json

    from contracts.streams import DEAD_LETTER, SERVICE_STREAMS

    once_per = {
        "congress.delegate.checked_in": ("delegate_id",),
        "congress.congress.closed": ("congress_id",),
        "congress.congress.created": ("congress_id",),
        "congress.delegate.registered": ("delegate_id",),
        "congress.document.published": ("publication_id",),
        "documents.document.uploaded": ("document_id", "version"),
        "documents.document.approved": ("document_id", "version"),
        "signing.request.created": ("request_id",),
        "signing.request.signed": ("request_id", "signer"),
        "signing.request.completed": ("request_id",),
        "documents.archive.sealed": ("congress_id",),
    }
    report: dict[str, Any] = {"duplicate_ids": {}, "duplicate_facts": {}, "messages": {}, "dead_letters": [],
                              "facts": Counter()}  # (subject, *ids) -> how many events state it
    for spec in SERVICE_STREAMS.values():
        ids: Counter = Counter()
        facts: Counter = Counter()
        total = (await js.stream_info(spec.name)).state.messages
        report["messages"][spec.name] = total
        if total:
            sub = await js.subscribe(spec.subjects[0], stream=spec.name, ordered_consumer=True)
            for _ in range(total):
                msg = await sub.next_msg(timeout=10)
                ids[(msg.headers or {}).get("Nats-Msg-Id", "")] += 1
                keys = once_per.get(msg.subject)
                if keys and dedupe_keys:
                    try:
                        body = json.loads(msg.data)
                    except ValueError:
                        continue
                    facts[(msg.subject, *(str(body.get(k)) for k in keys))] += 1
            await sub.unsubscribe()
        report["duplicate_ids"][spec.name] = [key for key, n in ids.items() if n > 1 or not key]
        report["duplicate_facts"][spec.name] = [key for key, n in facts.items() if n > 1]
        report["facts"].update(facts)
    dead = (await js.stream_info(DEAD_LETTER.name)).state.messages
    if dead:
        from runtime.deadletters import list_dead_letters

        report["dead_letters"] = [(d.consumer, d.subject, d.reason[:300]) for d in await list_dead_letters(js)]
    return report


async def consumers_behind(js: Any) -> dict[str, tuple[int, int]]:
    """Durable consumers of the event streams that still have pending or unacked messages."""
    from contracts.streams import SERVICE_STREAMS

    behind = {}
    for spec in SERVICE_STREAMS.values():
        for consumer in await js.consumers_info(spec.name):
            if consumer.config.durable_name and (consumer.num_pending or consumer.num_ack_pending):
                behind[consumer.name] = (consumer.num_pending, consumer.num_ack_pending)
    return behind
