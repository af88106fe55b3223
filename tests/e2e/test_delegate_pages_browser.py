"""Delegate pages in real headless Chromium on a phone-sized screen, through Caddy: a scan
reaches the PDF, a delegate's home shows a newly published document without reloading, a
revoked token shows the friendly page, and the SVG QR code decodes to the page's URL."""

from __future__ import annotations

import hashlib
import io

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser

from tests.support.congress_fixtures import admin_client, approved_document, new_secretary, publish_when_known

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
         "locale": "vi-VN"}


@pytest.fixture(scope="module")
def congress(system):  # type: ignore[no-untyped-def]
    secretary = new_secretary(system.url, admin_client(system.url))
    cid = secretary.post("/api/congresses", json={"title": "Đại hội đại biểu Phụ nữ huyện Thuỷ Nguyên",
                                                  "quorum": 0.5}).json()["id"]
    item = secretary.post(f"/api/congresses/{cid}/agenda", json={"title": "Báo cáo chính trị"}).json()["id"]
    delegate = secretary.post(f"/api/congresses/{cid}/delegates", json={"full_name": "Nguyễn Thị Nguyên"}).json()
    return {"client": secretary, "id": cid, "item": item, "delegate": delegate}


def local(url: str, system) -> str:  # type: ignore[no-untyped-def]
    return system.url + "/" + url.split("/", 3)[3]


def test_scan_reaches_the_pdf_with_no_external_request(browser, congress, system) -> None:  # type: ignore[no-untyped-def]
    document = approved_document(system.nats_url, congress["id"], "Báo cáo <script>x</script> chính trị", congress["item"])
    publication = publish_when_known(congress["client"], congress["id"], {"document_id": document.document_id}).json()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(publication["url"])
    assert page.locator("h1").inner_text() == "Báo cáo <script>x</script> chính trị"
    assert page.locator("a.button").is_visible()
    weight = len(page.content().encode())
    assert weight < 20_000
    with page.expect_response(lambda response: response.url.endswith("/file")) as answered:
        page.locator("a.button").click()  # Chromium opens the PDF in its own viewer
    response = answered.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    page.wait_for_url("**/file")
    fetched = context.request.get(page.url)  # the same bytes, with the page's cookies
    assert hashlib.sha256(fetched.body()).hexdigest() == document.sha256
    network = [url for url in requested if url.startswith(("http:", "https:"))]  # not the PDF viewer's own files
    assert network and all(url.startswith(system.url) for url in network), network
    context.close()


def test_delegate_home_gets_a_new_document_without_reloading(browser, congress, system) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(local(congress["delegate"]["personal_url"], system))
    assert "Nguyễn Thị Nguyên" in page.content()
    page.evaluate("window.stillTheSamePage = true")
    page.wait_for_timeout(300)  # the event stream is open
    document = approved_document(system.nats_url, congress["id"], "Nghị quyết Đại hội (dự thảo)", congress["item"])
    publish_when_known(congress["client"], congress["id"], {"document_id": document.document_id, "audience": "delegates"})
    page.get_by_text("Nghị quyết Đại hội (dự thảo)").wait_for(timeout=5000)
    assert page.evaluate("window.stillTheSamePage") is True
    page.get_by_text("Nghị quyết Đại hội (dự thảo)").click()  # the delegate cookie opens a delegates-only page
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Nghị quyết Đại hội (dự thảo)"
    context.close()


def test_revoked_token_shows_the_friendly_page(browser, congress, system) -> None:  # type: ignore[no-untyped-def]
    document = approved_document(system.nats_url, congress["id"], "Báo cáo tài chính", congress["item"])
    client = congress["client"]
    publication = publish_when_known(client, congress["id"], {"document_id": document.document_id}).json()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    assert page.goto(publication["url"]).status == 200
    client.post(f"/api/congresses/{congress['id']}/publications/{publication['id']}/revoke").raise_for_status()
    answer = page.goto(publication["url"])
    assert answer.status == 410
    assert "Tài liệu này đã được thu hồi" in page.locator("h1").inner_text()
    context.close()


def test_svg_qr_code_decodes_to_the_public_url(browser, congress, system) -> None:  # type: ignore[no-untyped-def]
    document = approved_document(system.nats_url, congress["id"], "Tài liệu tham khảo")
    publication = publish_when_known(congress["client"], congress["id"], {"document_id": document.document_id}).json()
    svg = congress["client"].get(publication["qr_svg_url"]).text
    context = browser.new_context(viewport={"width": 400, "height": 400})
    page = context.new_page()
    page.set_content(f'<body style="margin:0;background:#fff"><div style="width:300px">{svg}</div></body>')
    page.locator("svg").evaluate("e => { e.setAttribute('width', '300'); e.setAttribute('height', '300'); }")
    shot = page.screenshot()
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))]
    assert decoded == [publication["url"]]
    assert page.goto(decoded[0]).status == 200
    context.close()
