"""The signing pages in a real browser and in both languages: a phone opens the QR link of a
signed document (`/verify/{code}`) and sees the green verdict with the signer's exact Vietnamese
name; uploading the same file with one flipped byte turns the verdict red. English comes from
Accept-Language, the `lang` cookie or the `?lang=en` switch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from runtime.processes import NatsServer
from tests.integration.signing_helpers import Harness, Person, start_signing, wait_for

CONGRESS = str(uuid.uuid4())
SECRETARY = Person("thuky.thao", "Hà Thị Thảo", ["secretary"])
CHAIR = Person("chutich.nguyet", "Đinh Thị Nguyệt Ánh", ["signer"])


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Harness, dict, bytes]]:
    root = tmp_path_factory.mktemp("signing-pages")
    server = NatsServer(root / "nats", log_path=root / "nats.log").start()
    service = None
    try:
        service = start_signing(root / "var", server)
        h = Harness(server, service, root)
        h.publish_token_key()
        h.add_people(CONGRESS, SECRETARY, CHAIR)
        document_id, _sha, _ = h.upload(CONGRESS, "Nghị quyết Đại hội Phụ nữ phường Bến Thành")
        body = {"document_id": document_id, "version": 1, "signers": [{"username": CHAIR.username, "role": "signer"}]}
        with h.client(SECRETARY) as sec:
            req = wait_for(lambda: (r := sec.post("/api/signing/requests", json=body)).status_code == 201 and r).json()
        with h.client(CHAIR) as chair:
            done = chair.post(f"/api/signing/requests/{req['id']}/sign")
        assert done.status_code == 200, done.text
        yield h, done.json(), h.get_blob(done.json()["current_sha256"])
    finally:
        if service:
            service.stop()
        server.stop()


def test_pages_speak_english_when_asked(signed: tuple[Harness, dict, bytes]) -> None:
    h, request, _data = signed
    code = request["signers"][0]["verification_code"]
    vietnamese = httpx.get(f"{h.url}/verify/{code}")
    assert "Kiểm tra chữ ký số" in vietnamese.text and '<html lang="vi">' in vietnamese.text
    by_header = httpx.get(f"{h.url}/verify/{code}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Check digital signatures" in by_header.text and "Kiểm tra chữ ký số" not in by_header.text
    assert "every signature is valid" in by_header.text and CHAIR.full_name in by_header.text
    by_cookie = httpx.get(f"{h.url}/verify/{code}", cookies={"lang": "en"}, headers={"Accept-Language": "vi"})
    assert "Check digital signatures" in by_cookie.text
    switched = httpx.get(f"{h.url}/verify/{code}", params={"lang": "en"})
    assert "Check digital signatures" in switched.text and switched.cookies.get("lang") == "en"
    with h.client(SECRETARY) as sec:
        page = sec.get(f"/sign/{request['id']}", headers={"Accept-Language": "en"})
        assert page.status_code == 200 and "Fully signed" in page.text and "Signer" in page.text
        assert "Đã ký đủ" in sec.get(f"/sign/{request['id']}").text
    assert "Log in to sign." in httpx.get(f"{h.url}/sign/{request['id']}", cookies={"lang": "en"}).text


def test_a_phone_sees_green_then_red_for_a_flipped_byte(signed: tuple[Harness, dict, bytes], tmp_path: Path,
                                                       browser: Browser) -> None:
    h, request, data = signed
    code = request["signers"][0]["verification_code"]
    flipped = bytearray(data)
    flipped[len(flipped) // 3] ^= 0x01
    (tmp_path / "flipped.pdf").write_bytes(bytes(flipped))
    page = browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                            has_touch=True, locale="vi-VN")
    try:
        page.goto(f"{h.url}/verify/{code}")
        verdict = page.locator(".verdict")
        assert "valid" in (verdict.get_attribute("class") or "").split()
        assert verdict.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(30, 125, 52)"  # green
        assert CHAIR.full_name in page.locator("h2").first.inner_text()
        page.set_input_files("input[type=file]", str(tmp_path / "flipped.pdf"))
        page.click("button[type=submit]")
        page.wait_for_load_state()
        verdict = page.locator(".verdict")
        assert "invalid" in (verdict.get_attribute("class") or "").split()
        assert verdict.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(179, 38, 30)"  # red
        assert "CẢNH BÁO" in verdict.inner_text()
    finally:
        page.close()
