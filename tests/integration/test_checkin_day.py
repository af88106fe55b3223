"""The day of a congress against the real system (NATS, the services as processes, Caddy):
check-in at the door and at the desk, live attendance, undo, closing, personal data."""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
import uuid

import httpx
import pytest

import contracts.signing as sc
from tests.support.checkin_fixtures import (
    all_delegates,
    code_of,
    congress_events,
    import_roster,
    new_user,
    page_client,
    roster_csv,
    secretary_of,
)
from tests.support.congress_fixtures import admin_client, announce, login


def new_congress(client: httpx.Client, title: str = "Đại hội đại biểu Phụ nữ phường Kiến An") -> str:
    answer = client.post("/api/congresses", json={"title": title, "organisation": "Hội Liên hiệp Phụ nữ",
                                                  "quorum": 0.5})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def wait_for(check, timeout: float = 10.0, every: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


@pytest.fixture(scope="module")
def day(system):  # type: ignore[no-untyped-def]
    admin = admin_client(system.url)
    secretary, username, password = secretary_of(system.url, admin)
    return {"admin": admin, "secretary": secretary, "username": username, "password": password}


# --------------------------------------------------------------------------- concurrency


def test_500_concurrent_checkins_with_duplicates_count_each_delegate_once(system, day) -> None:  # type: ignore[no-untyped-def]
    secretary = day["secretary"]
    cid = new_congress(secretary)
    assert import_roster(secretary, cid, roster_csv(400))["imported"] == 400
    delegates = all_delegates(secretary, cid)
    codes = [code_of(d) for d in delegates]
    ids = [d["id"] for d in delegates]
    # 500 requests: every delegate once (by code or by id), plus 100 repeats of the first 50
    # sent both ways, all shuffled and sent at once from 10 clients.
    bodies = [{"code": c} if i % 2 else {"delegate_id": d} for i, (c, d) in enumerate(zip(codes, ids))]
    bodies += [{"code": codes[i % 50]} if i % 2 else {"delegate_id": ids[i % 50]} for i in range(100)]
    random.Random(8).shuffle(bodies)
    token = secretary.headers["Authorization"]

    async def send_all() -> list[httpx.Response]:
        clients = [httpx.AsyncClient(base_url=system.url, timeout=60, headers={"Authorization": token})
                   for _ in range(10)]
        try:
            return await asyncio.gather(*(clients[i % 10].post(f"/api/congresses/{cid}/checkins", json=body)
                                          for i, body in enumerate(bodies)))
        finally:
            for client in clients:
                await client.aclose()

    answers = asyncio.run(send_all())
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 400 and statuses.count(200) == 100, sorted(set(statuses))
    first_times: dict[str, str] = {}
    for answer in answers:
        body = answer.json()
        if answer.status_code == 201:
            first_times[body["delegate_id"]] = body["checked_in_at"]
    for answer in answers:  # every repeat answers the first check-in's time
        body = answer.json()
        assert body["checked_in_at"] == first_times[body["delegate_id"]]
    attendance = secretary.get(f"/api/congresses/{cid}/attendance").json()
    assert (attendance["registered"], attendance["present"], attendance["absent"]) == (400, 400, 0)
    assert attendance["quorum_reached"] is True
    assert sum(u["present"] for u in attendance["units"]) == 400 and len(attendance["units"]) == 4

    def one_event_each() -> list[str] | None:
        found = [e["delegate_id"] for e in congress_events(system.nats_url, cid, "congress.delegate.checked_in")]
        return found if len(found) >= 400 else None

    found = wait_for(one_event_each, timeout=20, every=0.5)
    assert found is not None and sorted(found) == sorted(ids)  # exactly one event per delegate


# --------------------------------------------------------------------------- the badge page


def test_badge_page_reveals_nothing_without_a_secretary_session(system, day) -> None:  # type: ignore[no-untyped-def]
    secretary, admin = day["secretary"], day["admin"]
    cid = new_congress(secretary)
    import_roster(secretary, cid, roster_csv(0, ["Nguyễn Thị Bí Mật;Phường Đồ Sơn Kín;0912000111;;"]))
    [delegate] = all_delegates(secretary, cid)
    code = code_of(delegate)

    def hides(answer: httpx.Response) -> None:
        assert "Bí Mật" not in answer.text and "Đồ Sơn Kín" not in answer.text, answer.text[:500]

    anonymous = httpx.get(f"{system.url}/c/{code}", headers={"Accept": "text/html"})
    assert anonymous.status_code == 200 and "/console/login" in anonymous.text
    hides(anonymous)
    hides(httpx.get(f"{system.url}/c/{'x' * 22}", headers={"Accept": "text/html"}))
    _, signer_name, signer_password = new_user(admin, ["signer"])
    hides(page_client(system.url, signer_name, signer_password).get(f"/c/{code}"))
    _, other_name, other_password = secretary_of(system.url, admin, new_congress(admin, "Đại hội khác"))
    other = page_client(system.url, other_name, other_password).get(f"/c/{code}")
    assert other.status_code == 404
    hides(other)
    # An anonymous or foreign POST checks nobody in.
    assert httpx.post(f"{system.url}/c/{code}", data={"csrf_token": "x"}).status_code == 401
    assert secretary.get(f"/api/congresses/{cid}/attendance").json()["present"] == 0


def test_badge_page_checks_in_with_one_post_and_answers_the_second_scan(system, day) -> None:  # type: ignore[no-untyped-def]
    secretary = day["secretary"]
    cid = new_congress(secretary)
    import_roster(secretary, cid, roster_csv(0, ["Đặng Thị Quyên;Phường Ngô Quyền;0355555555;;"]))
    code = code_of(all_delegates(secretary, cid)[0])
    browser = page_client(system.url, day["username"], day["password"])
    shown = browser.get(f"/c/{code}")
    assert shown.status_code == 200 and "Đặng Thị Quyên" in shown.text and "Phường Ngô Quyền" in shown.text
    browser.get(f"/c/{code}")  # GETs (prefetchers, previews) change nothing
    assert secretary.get(f"/api/congresses/{cid}/attendance").json()["present"] == 0
    token = re.search(r'name="csrf_token" value="([^"]+)"', shown.text).group(1)
    assert browser.post(f"/c/{code}", data={}).status_code == 403  # no CSRF token: refused
    done = browser.post(f"/c/{code}", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/c/{code}?just=1"
    assert secretary.get(f"/api/congresses/{cid}/attendance").json()["present"] == 1
    again = browser.get(f"/c/{code}")
    local = secretary.get(f"/api/congresses/{cid}/delegates").json()["items"][0]["checked_in_at"]
    hhmm = time.strftime("%H:%M", time.gmtime(
        time.mktime(time.strptime(local[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + 7 * 3600))
    assert f"Đã điểm danh lúc {hhmm}" in again.text, again.text
    assert 'id="checkin-button"' not in again.text
    repeat = browser.post(f"/c/{code}", data={"csrf_token": token})
    assert repeat.headers["location"] == f"/c/{code}?just=0"
    assert secretary.get(f"/api/congresses/{cid}/attendance").json()["present"] == 1


# --------------------------------------------------------------------------- desk, undo, live


def test_desk_search_folds_diacritics_and_d(system, day) -> None:  # type: ignore[no-untyped-def]
    secretary = day["secretary"]
    cid = new_congress(secretary)
    import_roster(secretary, cid, roster_csv(30, ["Nguyễn Thị Nguyên;Phường Đằng Hải;;;", "Đỗ Đình Đức;Xã Đông;;;"]))

    def search(q: str) -> list[str]:
        return [d["full_name"] for d in secretary.get(f"/api/congresses/{cid}/checkins/candidates",
                                                      params={"q": q}).json()["items"]]

    assert wait_for(lambda: search("nguyen thi nguyen")) == ["Nguyễn Thị Nguyên"]
    assert search("NGUYEN  nguyen") == ["Nguyễn Thị Nguyên"]
    assert search("do dinh duc") == ["Đỗ Đình Đức"] and "Đỗ Đình Đức" in search("đức")
    assert "Nguyễn Thị Nguyên" not in search("thi lan")
    assert search("100%") == [] and search("") == []
    browser = page_client(system.url, day["username"], day["password"])
    page = browser.get(f"/console/congresses/{cid}/desk", params={"q": "nguyen thi nguyen"})
    assert page.status_code == 200 and "Nguyễn Thị Nguyên" in page.text


def test_undo_is_reflected_in_attendance_and_the_audit_trail(system, day) -> None:  # type: ignore[no-untyped-def]
    secretary, admin = day["secretary"], day["admin"]
    cid = new_congress(secretary)
    import_roster(secretary, cid, roster_csv(4))
    target = all_delegates(secretary, cid)[0]["id"]
    assert secretary.post(f"/api/congresses/{cid}/checkins", json={"delegate_id": target}).status_code == 201
    assert secretary.get(f"/api/congresses/{cid}/attendance").json()["present"] == 1
    assert secretary.post(f"/api/congresses/{cid}/checkins/{target}/undo", json={"reason": ""}).status_code == 422
    undone = secretary.post(f"/api/congresses/{cid}/checkins/{target}/undo", json={"reason": "Nhầm người"})
    assert undone.status_code == 200 and undone.json()["undone"] is True
    assert secretary.get(f"/api/congresses/{cid}/attendance").json()["present"] == 0
    assert secretary.post(f"/api/congresses/{cid}/checkins/{target}/undo",
                          json={"reason": "lần nữa"}).json()["undone"] is False

    def audited() -> list[dict]:
        return [r for r in admin.get("/api/audit", params={"congress_id": cid}).json()["items"]
                if r["action"] == "checkin.undone"]

    records = wait_for(audited)
    assert len(records) == 1 and records[0]["target"] == f"delegate:{target}"
    assert records[0]["detail"]["reason"] == "Nhầm người"
    events = congress_events(system.nats_url, cid, "congress.delegate.checkin_undone")
    assert [e["reason"] for e in events] == ["Nhầm người"]
    assert secretary.post(f"/api/congresses/{cid}/checkins", json={"delegate_id": target}).status_code == 201


def test_dashboard_stream_gets_each_checkin_within_a_second(system, day) -> None:  # type: ignore[no-untyped-def]
    secretary = day["secretary"]
    cid = new_congress(secretary)
    import_roster(secretary, cid, roster_csv(3))
    targets = [d["id"] for d in all_delegates(secretary, cid)]
    seen: list[tuple[float, int]] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=system.url, timeout=30, headers=dict(secretary.headers)) as client:
            with client.stream("GET", f"/api/congresses/{cid}/attendance/events") as stream:
                event = None
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event == "attendance":
                        data = json.loads(line.split(":", 1)[1])
                        seen.append((time.monotonic(), data["present"]))
                        assert "<svg" in data["chart_svg"]
                        ready.set()
                        if data["present"] == len(targets):
                            return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10)
    sent_at = []
    for target in targets:
        sent_at.append(time.monotonic())
        assert secretary.post(f"/api/congresses/{cid}/checkins", json={"delegate_id": target}).status_code == 201
        time.sleep(0.3)
    listener.join(10)
    assert seen[-1][1] == len(targets)
    for count, moment in enumerate(sent_at, start=1):
        arrived = next(t for t, present in seen if present >= count)
        assert arrived - moment < 1.0, f"check-in {count} reached the dashboard after {arrived - moment:.2f} s"


# --------------------------------------------------------------------------- closing


def test_close_waits_for_open_signature_requests_then_freezes_every_write(system, day) -> None:  # type: ignore[no-untyped-def]
    secretary = day["secretary"]
    cid = new_congress(secretary)
    item = secretary.post(f"/api/congresses/{cid}/agenda", json={"title": "Khai mạc"}).json()
    import_roster(secretary, cid, roster_csv(4))
    delegates = all_delegates(secretary, cid)
    secretary.post(f"/api/congresses/{cid}/checkins", json={"delegate_id": delegates[0]["id"]})
    secretary.post(f"/api/congresses/{cid}/checkins", json={"delegate_id": delegates[1]["id"]})
    request_id, document_id = uuid.uuid4(), uuid.uuid4()
    announce(system.nats_url, sc.RequestCreated(
        congress_id=uuid.UUID(cid), request_id=request_id, document_id=document_id, version=1, sha256="a" * 64,
        signers=[sc.SignerSlot(username="chutich", role="signer")], requested_by="thuky", title="Biên bản đại hội"))

    # The congress service learns of the request from the SIGNING stream: once it lists it,
    # the close is refused.
    assert wait_for(lambda: secretary.get(f"/api/congresses/{cid}/signature-requests").json()["items"])
    answer = secretary.post(f"/api/congresses/{cid}/close")
    assert answer.status_code == 409, answer.text
    assert [r["request_id"] for r in answer.json()["open_requests"]] == [str(request_id)]
    assert answer.json()["open_requests"][0]["title"] == "Biên bản đại hội"
    announce(system.nats_url, sc.RequestCancelled(congress_id=uuid.UUID(cid), request_id=request_id,
                                                  document_id=document_id))
    closed = wait_for(lambda: (r := secretary.post(f"/api/congresses/{cid}/close")).status_code == 200 and r)
    assert closed and closed.json()["state"] == "closed"
    assert secretary.post(f"/api/congresses/{cid}/close").status_code == 200  # a repeat: the same answer
    [event] = congress_events(system.nats_url, cid, "congress.congress.closed")
    assert (event["registered"], event["present"], event["quorum_reached"]) == (4, 2, True)

    d = delegates[2]["id"]
    writes = [
        ("PATCH", f"/api/congresses/{cid}", {"json": {"venue": "Nơi khác"}}),
        ("POST", f"/api/congresses/{cid}/open", {}),
        ("POST", f"/api/congresses/{cid}/agenda", {"json": {"title": "Bế mạc"}}),
        ("PATCH", f"/api/congresses/{cid}/agenda/{item['id']}", {"json": {"title": "Khai mạc lại"}}),
        ("DELETE", f"/api/congresses/{cid}/agenda/{item['id']}", {}),
        ("POST", f"/api/congresses/{cid}/delegates", {"json": {"full_name": "Lê Thị Muộn"}}),
        ("PATCH", f"/api/congresses/{cid}/delegates/{d}", {"json": {"unit": "Khác"}}),
        ("DELETE", f"/api/congresses/{cid}/delegates/{d}", {}),
        ("POST", f"/api/congresses/{cid}/delegates/{d}/reissue", {}),
        ("POST", f"/api/congresses/{cid}/delegates/import",
         {"files": {"file": ("a.csv", roster_csv(0, ["Lê Thị Muộn;Xã;;;"]), "text/csv")}}),
        ("POST", f"/api/congresses/{cid}/checkins", {"json": {"delegate_id": d}}),
        ("POST", f"/api/congresses/{cid}/checkins", {"json": {"code": code_of(delegates[3])}}),
        ("POST", f"/api/congresses/{cid}/checkins/{delegates[0]['id']}/undo", {"json": {"reason": "muộn"}}),
        ("POST", f"/api/congresses/{cid}/publications", {"json": {"document_id": str(uuid.uuid4())}}),
    ]
    for method, path, kwargs in writes:
        answer = secretary.request(method, path, **kwargs)
        assert answer.status_code == 409, f"{method} {path}: {answer.status_code} {answer.text[:200]}"
        assert answer.json()["error"]["code"] == "congress_closed"
    attendance = secretary.get(f"/api/congresses/{cid}/attendance").json()
    assert (attendance["registered"], attendance["present"]) == (4, 2)


# --------------------------------------------------------------------------- personal data


def test_personal_data_export_and_erase_by_an_admin_are_audited(system, day) -> None:  # type: ignore[no-untyped-def]
    secretary, admin = day["secretary"], day["admin"]
    cid = new_congress(secretary)
    import_roster(secretary, cid, roster_csv(0, ["Võ Thị Sáu;Xã An Lão;0981234567;sau@example.vn;"]))
    [delegate] = all_delegates(secretary, cid)
    did = delegate["id"]
    secretary.post(f"/api/congresses/{cid}/checkins", json={"delegate_id": did})
    base = f"/api/congresses/{cid}/delegates/{did}"
    assert secretary.get(f"{base}/personal-data").status_code == 403
    exported = admin.get(f"{base}/personal-data").json()
    assert (exported["phone"], exported["email"]) == ("0981234567", "sau@example.vn")
    assert exported["checked_in_at"] is not None
    erased = admin.post(f"{base}/erase-personal-data")
    assert erased.status_code == 200 and erased.json()["erased"] is True
    after = secretary.get(base).json()
    assert (after["phone"], after["email"], after["full_name"], after["unit"]) == ("", "", "Võ Thị Sáu", "Xã An Lão")
    assert after["checked_in_at"] is not None
    assert secretary.get(f"/api/congresses/{cid}/attendance").json()["present"] == 1

    def audited() -> list[str]:
        actions = [r["action"] for r in admin.get("/api/audit", params={"congress_id": cid}).json()["items"]]
        wanted = {"delegate.personal_data_exported", "delegate.personal_data_erased"}
        return sorted(a for a in actions if a in wanted) if wanted <= set(actions) else []

    assert wait_for(audited) == ["delegate.personal_data_erased", "delegate.personal_data_exported"]
    records = admin.get("/api/audit", params={"congress_id": cid}).json()["items"]
    assert "0981234567" not in json.dumps(records) and "sau@example.vn" not in json.dumps(records)
    for event in congress_events(system.nats_url, cid):
        assert "0981234567" not in json.dumps(event) and "sau@example.vn" not in json.dumps(event)
