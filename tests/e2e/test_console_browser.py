"""The secretariat console in real headless Chromium, through Caddy: a secretary, using the pages
only, creates a congress with an agenda, imports a roster, uploads a document, asks for its
signature, publishes it once signed, prints its poster; then opens a badge's /c/{code} URL,
checks the delegate in, and sees the dashboard's count change without reloading."""

from __future__ import annotations

import io
import subprocess
import time

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.support.checkin_fixtures import new_user
from tests.support.congress_fixtures import admin_client, login, make_pdf

ROSTER = ("Họ và tên;Đơn vị;SĐT;Email\n"
          "Nguyễn Thị Nguyên;Phường Kiến An;0912000001;\n"
          "Trần Thị Mai;Phường Lê Chân;0912000002;\n"
          "Đặng Thị Quyên;Phường Lê Chân;0912000003;\n")


def reload_until(page: Page, selector: str, timeout: float = 20.0) -> None:
    """The page lists what the service has consumed from the other services: wait for it."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() == 0:
        assert time.monotonic() < deadline, f"{selector} never appeared on {page.url}"
        time.sleep(0.3)
        page.reload()


def badge_urls(pdf: bytes, tmp_path) -> list[str]:  # type: ignore[no-untyped-def]
    source = tmp_path / "badges.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "110", "-f", "1", "-l", "1", "-png", str(source), str(tmp_path / "badges")],
                   check=True)
    found: list[str] = []
    for image in sorted(tmp_path.glob("badges*.png")):
        found += [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.read_bytes())))]
    return [url for url in found if "/c/" in url]


def test_a_secretary_runs_a_congress_from_the_pages(browser, system, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = admin_client(system.url)
    _, secretary_name, secretary_password = new_user(admin, ["secretary"], "Lê Thị Thư Ký")
    _, signer_name, signer_password = new_user(admin, ["signer"], "Trần Thị Chủ Tịch")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = context.new_page()

    # Log in, create the congress, add the agenda.
    page.goto(f"{system.url}/console/")
    page.fill("#username", secretary_name)
    page.fill("#password", secretary_password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Các đại hội")
    page.fill("#title", "Đại hội đại biểu Phụ nữ phường Kiến An lần thứ XX")
    page.fill("#venue", "Hội trường UBND phường")
    page.click("text=Tạo đại hội")
    expect(page.locator("h1")).to_have_text("Đại hội đại biểu Phụ nữ phường Kiến An lần thứ XX")
    congress_url = page.url
    for title in ("Khai mạc", "Báo cáo chính trị"):
        page.fill("#agenda-title", title)
        page.click("text=Thêm vào chương trình")
    expect(page.locator("ol li strong")).to_have_text(["Khai mạc", "Báo cáo chính trị"])
    page.click("text=Khai mạc đại hội")
    expect(page.locator("text=đang diễn ra")).to_be_visible()

    # Import the roster and read its report.
    page.click("nav.tabs >> text=Đại biểu")
    roster = tmp_path / "danh-sach.csv"
    roster.write_bytes("\ufeff".encode() + ROSTER.encode())
    page.set_input_files("#roster-file", str(roster))
    page.click("text=Nhập danh sách đại biểu")
    expect(page.locator("#import-report")).to_contain_text("Đã nhập 3 trên 3 dòng")
    expect(page.locator("table")).to_contain_text("Đặng Thị Quyên")

    # Upload a document (documents service, same origin) and ask for its signature (signing).
    page.click("nav.tabs >> text=Tài liệu")
    report = tmp_path / "bao-cao.pdf"
    report.write_bytes(make_pdf("Báo cáo chính trị nhiệm kỳ 2026–2031"))
    page.fill("#doc-title", "Báo cáo chính trị")
    page.select_option("#doc-item", label="Báo cáo chính trị")
    page.set_input_files("#doc-file", str(report))
    page.click("#upload button[type=submit]")
    expect(page.locator("#api-done")).to_be_visible()
    reload_until(page, "form.ask-signatures")
    deadline = time.monotonic() + 20
    while True:  # the signing service learns of the upload from its event: until then it says so
        page.fill("form.ask-signatures input[name=signers]", signer_name)
        page.click("form.ask-signatures button")
        done, error = page.locator("#api-done"), page.locator("#api-error")
        expect(page.locator("#api-done:not([hidden]), #api-error:not([hidden])")).to_have_count(1)
        if done.is_visible():
            break
        assert time.monotonic() < deadline, error.inner_text()
        time.sleep(0.5)
        page.reload()
    reload_until(page, "text=đang chờ ký")

    # The signer signs through the signing service's API.
    signer = login(system.url, signer_name, signer_password)
    deadline = time.monotonic() + 30
    while True:
        waiting = signer.get("/api/signing/requests", params={"mine": 1}).json()["items"]
        signed = waiting and signer.post(f"/api/signing/requests/{waiting[0]['id']}/sign").status_code == 200
        if signed:
            break
        assert time.monotonic() < deadline, "the signer could not sign"
        time.sleep(0.5)

    # Publish once signed, print the poster.
    reload_until(page, "text=Đã duyệt: sẵn sàng công bố", timeout=30)
    expect(page.locator(".card.document")).to_contain_text("đã ký đủ")
    page.select_option("form.publish select[name=audience]", "public")
    page.click("form.publish button")
    expect(page.locator("text=Đã công bố")).to_be_visible()
    poster = page.request.get(system.url + page.locator("a.poster").get_attribute("href"))
    assert poster.status == 200 and poster.headers["content-type"] == "application/pdf"
    assert poster.body().startswith(b"%PDF")

    # The badges; the dashboard in a second tab; a badge's URL opened in the first.
    badges = page.request.get(f"{congress_url.replace('/console/congresses/', '/api/congresses/')}/badges.pdf")
    assert badges.status == 200
    urls = badge_urls(badges.body(), tmp_path)
    assert len(urls) == 3, urls
    dashboard = context.new_page()
    dashboard.goto(f"{congress_url}/dashboard")
    expect(dashboard.locator("#present-count")).to_have_text("0")
    expect(dashboard.locator("#quorum-state")).to_have_text("Chưa đủ")
    page.goto(urls[0].replace(urls[0].split("/c/")[0], system.url))
    name = page.locator("#delegate-name").inner_text()
    assert name in ROSTER
    page.click("#checkin-button")
    expect(page.locator("#checkin-state")).to_contain_text("Đã điểm danh lúc")
    expect(dashboard.locator("#present-count")).to_have_text("1", timeout=5000)  # no reload
    page.goto(urls[1].replace(urls[1].split("/c/")[0], system.url))
    page.click("#checkin-button")
    expect(dashboard.locator("#present-count")).to_have_text("2", timeout=5000)
    expect(dashboard.locator("#quorum-state")).to_have_text("Đã đủ")
    assert "<svg" in dashboard.locator("#chart").inner_html()
    # A second scan changes nothing and says when.
    page.goto(urls[0].replace(urls[0].split("/c/")[0], system.url))
    expect(page.locator("#checkin-state")).to_contain_text("Đã điểm danh lúc")
    assert page.locator("#checkin-button").count() == 0
    context.close()
