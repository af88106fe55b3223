"""Test helpers for the day of a congress: a roster of many delegates, their badge codes, a
cookie-riding (page) client of a secretary, and the events of one congress read back from the
CONGRESS stream."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import nats
import nats.js.api as jsapi

from tests.support.congress_fixtures import login

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Thị", "Văn", "Thị Thu", "Thị Ngọc", "Đức", "Thị Kim", "Minh")
GIVEN = ("Lan", "Hoa", "Mai", "Nguyên", "Hương", "Đào", "Quyên", "Hải", "Ánh", "Yến", "Thảo", "Dũng", "Ngọc")
UNITS = ("Phường Kiến An", "Phường Lê Chân", "Phường Ngô Quyền", "Xã An Lão")


def roster_csv(count: int, extra_rows: list[str] | None = None) -> bytes:
    """`count` distinct Vietnamese delegates over four units (plus `extra_rows` as given)."""
    lines = ["Họ và tên;Đơn vị;SĐT;Email;Loại đại biểu"]
    for i in range(count):
        name = f"{FAMILY[i % len(FAMILY)]} {MIDDLE[(i // 3) % len(MIDDLE)]} {GIVEN[i % len(GIVEN)]} {i:04d}"
        lines.append(f"{name};{UNITS[i % len(UNITS)]};09{i:08d};;Đại biểu chính thức")
    lines += extra_rows or []
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


def import_roster(client: httpx.Client, congress_id: str, data: bytes) -> dict[str, Any]:
    answer = client.post(f"/api/congresses/{congress_id}/delegates/import",
                         files={"file": ("danh-sach.csv", data, "text/csv")})
    assert answer.status_code == 200, answer.text
    return answer.json()


def all_delegates(client: httpx.Client, congress_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        page = client.get(f"/api/congresses/{congress_id}/delegates",
                          params={"limit": 1000, **({"after": after} if after else {})}).json()
        items += page["items"]
        after = page["next"]
        if not after:
            return items


def code_of(delegate: dict[str, Any]) -> str:
    return delegate["checkin_url"].rsplit("/c/", 1)[1]


def page_client(base_url: str, username: str, password: str) -> httpx.Client:
    """A browser-like client: logged in through the console form, riding the cookies."""
    client = httpx.Client(base_url=base_url, timeout=30, headers={"Accept": "text/html"})
    answer = client.post("/console/login", data={"username": username, "password": password, "next": "/console/"})
    assert answer.status_code == 303, answer.text
    return client


def new_user(admin: httpx.Client, roles: list[str], full_name: str = "Lê Thị Thư Ký") -> tuple[str, str, str]:
    username = f"u{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    answer = admin.post("/api/users", json={"username": username, "password": password, "full_name": full_name,
                                             "roles": roles})
    answer.raise_for_status()
    return answer.json()["id"], username, password


def secretary_of(base_url: str, admin: httpx.Client, congress_id: str | None = None) -> tuple[httpx.Client, str, str]:
    """(bearer client, username, password) of a new secretary, staff of `congress_id` when given."""
    user_id, username, password = new_user(admin, ["secretary"])
    if congress_id:
        answer = admin.post(f"/api/congresses/{congress_id}/staff", json={"user_id": user_id})
        assert answer.status_code in (200, 201), answer.text
    return login(base_url, username, password), username, password


def congress_events(nats_url: str, congress_id: str, subject: str = "congress.>") -> list[dict[str, Any]]:
    """Every event of one congress on `subject` in the CONGRESS stream (payloads, in order)."""

    async def go() -> list[dict[str, Any]]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info("CONGRESS")
            last = info.state.last_seq
            sub = await js.subscribe(subject, stream="CONGRESS", ordered_consumer=True,
                                     deliver_policy=jsapi.DeliverPolicy.ALL)
            found: list[dict[str, Any]] = []
            try:
                while True:
                    msg = await sub.next_msg(timeout=2)
                    if (msg.headers or {}).get("Congress-Id") == congress_id:
                        found.append({"subject": msg.subject, **json.loads(msg.data)})
                    if msg.metadata.sequence.stream >= last:
                        break
            except (TimeoutError, nats.errors.TimeoutError):
                pass
            await sub.unsubscribe()
            return found
        finally:
            await nc.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def random_id() -> str:
    return str(uuid.uuid4())
