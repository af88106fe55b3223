"""The archivist's pages in a real browser: search typed without diacritics, open the record,
press verify, read the verdict in Vietnamese (the record is another installation's sealed
package, imported once its CA is registered)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, expect

from tests.support.archive import make_ca, other_installation_package
from tests.support.congress_fixtures import admin_client, login, make_pdf
from tests.support.system import System


def test_an_archivist_finds_opens_and_verifies_a_record(browser, system: System, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = admin_client(system.url)
    username = f"lt{uuid.uuid4().hex[:8]}"
    admin.post("/api/users", json={"username": username, "password": "archive-password-1",
                                   "full_name": "Vũ Thị Lưu Trữ", "roles": ["archivist"]}).raise_for_status()
    archivist = login(system.url, username, "archive-password-1")
    ca = make_ca("Hội Liên hiệp Phụ nữ phường Hòa Khánh")
    assert admin.post("/api/archive/trusted-cas", json={"pem": ca.pem.decode()}).status_code in (200, 201)
    congress_id = str(uuid.uuid4())
    title = "Đại hội Phụ nữ phường Hòa Khánh lần thứ XII"
    with ThreadPoolExecutor(1) as thread:  # sealing runs its own event loop; playwright holds this thread's
        package = thread.submit(other_installation_package, tmp_path, ca, congress_id, title,
                                "Hội LHPN quận Liên Chiểu", "Phường Hòa Khánh", ["Đặng Thị Quỳnh Hương"],
                                make_pdf("Nghị quyết")).result()
    imported = archivist.post("/api/archive/import", files={"file": ("goi.zip", package.read_bytes(),
                                                                     "application/zip")})
    assert imported.status_code == 201, imported.text

    context = browser.new_context(base_url=system.url, locale="vi-VN")
    # Logged in as a browser is: the session and CSRF cookies land in this context.
    assert context.request.post("/api/auth/login", data={"username": username,
                                                         "password": "archive-password-1"}).ok
    page = context.new_page()
    try:
        page.goto("/archive")
        page.fill("input[name=q]", "dang thi quynh huong hoa khanh")
        page.click("button:has-text('Tìm')")
        hit = page.locator(".hit", has_text=title).first
        expect(hit).to_be_visible()
        expect(hit.locator("mark").first).to_be_visible()
        hit.locator("a").first.click()
        expect(page.locator("h1")).to_have_text(title)
        expect(page.get_by_text("nhận từ nơi khác, chỉ đọc")).to_be_visible()
        page.click("button:has-text('Kiểm tra tính toàn vẹn')")
        verdict = page.locator("p.ok", has_text="Nguyên vẹn")
        expect(verdict).to_be_visible(timeout=30_000)
        assert "dấu niêm phong" in verdict.inner_text()
    finally:
        context.close()
