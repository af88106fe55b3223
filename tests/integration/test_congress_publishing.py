"""Congresses, agenda, roster, badges and publications against the real system (NATS, the
services as processes, Caddy): every request goes through the entry point phones use."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

import httpx
import pytest
import zxingcpp
from openpyxl import Workbook
from PIL import Image

from tests.support.congress_fixtures import (
    admin_client,
    approved_document,
    events_on_stream,
    new_secretary,
    publish_when_known,
    signed,
)

SAMPLE_ROSTER = Path(__file__).resolve().parents[1] / "data" / "roster-200.csv"
"""200 synthetic delegates of a city women's union congress (no real people)."""

SCRIPT_TITLE = "Nghị quyết <script>alert('x')</script> Đại hội Phụ nữ"


@pytest.fixture(scope="module")
def staff(system):  # type: ignore[no-untyped-def]
    admin = admin_client(system.url)
    return {"admin": admin, "a": new_secretary(system.url, admin), "b": new_secretary(system.url, admin, "Lê Thị Bình")}


def new_congress(client: httpx.Client, title: str = "Đại hội đại biểu Phụ nữ quận Lê Chân") -> dict:
    answer = client.post("/api/congresses", json={"title": title, "organisation": "Hội Liên hiệp Phụ nữ",
                                                  "venue": "Hội trường Nhà Văn hoá", "quorum": 0.5,
                                                  "starts_at": "2026-12-01T08:00:00+07:00",
                                                  "ends_at": "2026-12-01T17:00:00+07:00"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def decode_png(data: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def decode_pdf_pages(pdf: bytes, tmp_path, first: int = 1, last: int = 1, dpi: int = 100) -> list[str]:
    import subprocess

    source = tmp_path / f"doc-{uuid.uuid4().hex}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(first), "-l", str(last), "-png", str(source),
                    str(tmp_path / source.stem)], check=True)
    found: list[str] = []
    for image in sorted(tmp_path.glob(f"{source.stem}*.png")):
        found += [r.text for r in zxingcpp.read_barcodes(Image.open(image))]
    return found


# --------------------------------------------------------------------------- congresses and agenda


def test_congress_life_cycle_and_access(staff) -> None:  # type: ignore[no-untyped-def]
    a, b, admin = staff["a"], staff["b"], staff["admin"]
    congress = new_congress(a, "Đại hội  Phụ nữ phường Kiến An")
    assert congress["state"] == "draft" and congress["title"] == "Đại hội  Phụ nữ phường Kiến An"
    cid = congress["id"]
    assert b.get(f"/api/congresses/{cid}").status_code == 404  # another secretary's: not leaked
    assert cid not in [c["id"] for c in b.get("/api/congresses").json()["items"]]
    assert cid in [c["id"] for c in a.get("/api/congresses").json()["items"]]
    assert admin.get(f"/api/congresses/{cid}").status_code == 200
    assert a.patch(f"/api/congresses/{cid}", json={"quorum": 1.5}).status_code == 422
    assert a.patch(f"/api/congresses/{cid}", json={"quorum": 0}).status_code == 422
    bad_dates = a.patch(f"/api/congresses/{cid}", json={"ends_at": "2026-11-30T08:00:00+07:00"})
    assert bad_dates.status_code == 422
    changed = a.patch(f"/api/congresses/{cid}", json={"venue": "Nhà Văn hoá quận", "quorum": 0.66}).json()
    assert changed["venue"] == "Nhà Văn hoá quận" and changed["quorum"] == 0.66
    assert a.post(f"/api/congresses/{cid}/open").json()["state"] == "open"
    assert a.post(f"/api/congresses/{cid}/open").status_code == 200  # repeat: same answer
    english = a.patch(f"/api/congresses/{cid}", json={"quorum": 2}, headers={"Accept-Language": "en"})
    assert english.status_code == 422 and "error" in english.json()
    assert httpx.get(f"{a.base_url}/api/congresses").status_code == 401


def test_agenda_add_edit_reorder_remove(staff) -> None:  # type: ignore[no-untyped-def]
    a, b = staff["a"], staff["b"]
    cid = new_congress(a)["id"]
    base = f"/api/congresses/{cid}/agenda"
    ids = [a.post(base, json={"title": title}).json()["id"] for title in ("Khai mạc", "Báo cáo chính trị", "Bầu cử")]
    first = a.post(base, json={"title": "Chào cờ", "position": 1}).json()
    assert first["position"] == 1
    assert [i["title"] for i in a.get(base).json()["items"]] == ["Chào cờ", "Khai mạc", "Báo cáo chính trị", "Bầu cử"]
    order = [ids[2], first["id"], ids[0], ids[1]]
    assert [i["id"] for i in a.put(f"{base}/order", json={"ids": order}).json()["items"]] == order
    assert a.put(f"{base}/order", json={"ids": order[:2]}).status_code == 422
    assert a.patch(f"{base}/{ids[1]}", json={"title": "Báo cáo chính trị (dự thảo)"}).json()["title"] == \
        "Báo cáo chính trị (dự thảo)"
    assert a.delete(f"{base}/{ids[0]}").status_code == 204
    assert len(a.get(base).json()["items"]) == 3
    assert b.post(base, json={"title": "xâm nhập"}).status_code == 404


# --------------------------------------------------------------------------- roster


def roster_import(client: httpx.Client, cid: str, name: str, data: bytes, partial: bool = False) -> httpx.Response:
    return client.post(f"/api/congresses/{cid}/delegates/import" + ("?partial=true" if partial else ""),
                       files={"file": (name, data, "application/octet-stream")})


def test_sample_roster_imports_cleanly(staff) -> None:  # type: ignore[no-untyped-def]
    a = staff["a"]
    cid = new_congress(a)["id"]
    answer = roster_import(a, cid, "roster-200.csv", SAMPLE_ROSTER.read_bytes())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"imported": 200, "rows": 200, "errors": []}
    listed = a.get(f"/api/congresses/{cid}/delegates?limit=1000").json()
    assert listed["total"] == 200 and len(listed["items"]) == 200
    assert all(d["phone"].startswith("0") and len(d["phone"]) == 10 for d in listed["items"])
    again = roster_import(a, cid, "roster-200.csv", SAMPLE_ROSTER.read_bytes())
    assert again.status_code == 422 and again.json()["imported"] == 0
    assert {e["code"] for e in again.json()["errors"]} == {"duplicate"}


def test_roster_bom_vietnamese_headers_errors_and_partial(staff) -> None:  # type: ignore[no-untyped-def]
    a = staff["a"]
    cid = new_congress(a)["id"]
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Lan"  # NFD input must be stored NFC
    text = ("STT;Họ và tên;Đơn vị;SĐT;Email;Loại đại biểu\n"
            f"1;{decomposed};Phường Kiến An;+84 981 551 382;;Đại biểu chính thức\n"
            "2;;Phường Lê Chân;0912345678;;\n"
            "3;Trần Thị Mai;Phường Lê Chân;12345;;\n"
            "4;Nguyễn Thị Lan;Phường Kiến An;0911111111;;\n"
            "5;Phạm Thị Thuý Hải;Phường Lê Chân;0981551382;;\n"
            "6;Đặng Thị Quyên;Phường Ngô Quyền;0355555555;quyen@example.vn;Đại biểu dự khuyết\n")
    data = "\ufeff".encode() + text.encode()
    refused = roster_import(a, cid, "danh-sach.csv", data)
    assert refused.status_code == 422, refused.text
    report = refused.json()
    assert report["imported"] == 0
    assert [(e["row"], e["code"]) for e in report["errors"]] == [
        (3, "missing_name"), (4, "bad_phone"), (5, "duplicate"), (6, "duplicate")]
    assert report["errors"][0]["reason"] == "Thiếu họ và tên."
    assert a.get(f"/api/congresses/{cid}/delegates").json()["total"] == 0  # nothing partial
    accepted = roster_import(a, cid, "danh-sach.csv", data, partial=True)
    assert accepted.status_code == 200 and accepted.json()["imported"] == 2
    names = {d["full_name"]: d for d in a.get(f"/api/congresses/{cid}/delegates").json()["items"]}
    assert set(names) == {"Nguyễn Thị Lan", "Đặng Thị Quyên"}
    assert names["Nguyễn Thị Lan"]["phone"] == "0981551382"


def test_roster_xlsx_english_headers(staff) -> None:  # type: ignore[no-untyped-def]
    a = staff["a"]
    cid = new_congress(a)["id"]
    book = Workbook()
    sheet = book.active
    sheet.append(["full_name", "unit", "phone", "email", "delegate_type"])
    sheet.append(["Võ Thị Sáu", "Xã An Lão", 981234567, "sau@example.vn", "Đại biểu chính thức"])  # the 0 eaten
    sheet.append(["Lý Thị Ngọc Ánh", "Xã An Lão", "0987654321", None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    answer = roster_import(a, cid, "roster.xlsx", buffer.getvalue())
    assert answer.status_code == 200 and answer.json()["imported"] == 2, answer.text
    phones = sorted(d["phone"] for d in a.get(f"/api/congresses/{cid}/delegates").json()["items"])
    assert phones == ["0981234567", "0987654321"]
    assert roster_import(a, cid, "x.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100).status_code == 415
    assert roster_import(a, cid, "x.csv", b"name\xff\xfe").status_code == 415
    assert roster_import(a, cid, "x.csv", "Tên gì đó,Đơn vị\nA,B\n".encode()).status_code == 422


def test_delegate_crud_reissue_and_personal_link(staff, system) -> None:  # type: ignore[no-untyped-def]
    a, b = staff["a"], staff["b"]
    cid = new_congress(a)["id"]
    base = f"/api/congresses/{cid}/delegates"
    created = a.post(base, json={"full_name": "Hoàng Thị Hoa", "unit": "Phường Cát Bi", "phone": "0901234567"})
    assert created.status_code == 201
    delegate = created.json()
    assert a.post(base, json={"full_name": "hoàng thị  hoa", "unit": "Phường Cát Bi"}).status_code == 409
    assert a.post(base, json={"full_name": "  "}).status_code == 422
    assert a.post(base, json={"full_name": "X", "phone": "0123"}).status_code == 422
    edited = a.patch(f"{base}/{delegate['id']}", json={"delegate_type": "Khách mời"}).json()
    assert edited["delegate_type"] == "Khách mời"
    assert b.get(f"{base}/{delegate['id']}").status_code == 404
    old_link = delegate["personal_url"].split("/d/", 1)[1]
    token_bits = len(old_link) * 6
    assert token_bits >= 80
    home = httpx.get(f"{system.url}/d/{old_link}")
    assert home.status_code == 200 and "Hoàng Thị Hoa" in home.text
    assert "HttpOnly" in home.headers["set-cookie"] and "samesite=lax" in home.headers["set-cookie"].lower()
    reissued = a.post(f"{base}/{delegate['id']}/reissue").json()
    assert reissued["personal_url"] != delegate["personal_url"]
    assert reissued["checkin_url"] != delegate["checkin_url"]
    assert httpx.get(f"{system.url}/d/{old_link}").status_code == 404
    new_link = reissued["personal_url"].split("/d/", 1)[1]
    assert httpx.get(f"{system.url}/d/{new_link}").status_code == 200
    announced = [e for e in events_on_stream(system.nats_url, "congress.delegate.secrets_reissued")
                 if e["delegate_id"] == delegate["id"]]
    assert len(announced) == 1 and announced[0]["congress_id"] == cid
    assert old_link not in str(announced) and new_link not in str(announced)  # the secrets never travel
    deadline = time.monotonic() + 10
    while True:  # the audit trail is gathered from the stream
        audited = staff["admin"].get("/api/audit", params={"action": "delegate.secrets_reissued", "congress_id": cid})
        if audited.json()["items"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [r["target"] for r in audited.json()["items"]] == [f"delegate:{delegate['id']}"]
    assert a.delete(f"{base}/{delegate['id']}").status_code == 204
    assert httpx.get(f"{system.url}/d/{new_link}").status_code == 404


def test_badges_and_slips_decode_to_the_exact_urls(staff, system, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = staff["a"]
    cid = new_congress(a, "Đại hội Phụ nữ phường Đằng Giang — nhiệm kỳ 2026–2031")["id"]
    for name in ("Nguyễn Thị Nguyên", "Phạm Thị Thuý Hải", "Đặng Thị Quyên"):
        assert a.post(f"/api/congresses/{cid}/delegates", json={"full_name": name, "unit": "Phường Đằng Giang"}
                      ).status_code == 201
    delegates = a.get(f"/api/congresses/{cid}/delegates").json()["items"]
    pdf = a.get(f"/api/congresses/{cid}/badges.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    decoded = decode_pdf_pages(pdf.content, tmp_path, 1, 2)
    assert sorted(decoded) == sorted([d["checkin_url"] for d in delegates] + [d["personal_url"] for d in delegates])
    import subprocess

    (tmp_path / "b.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "b.pdf"), "-"], capture_output=True, text=True).stdout
    for name in ("Nguyễn Thị Nguyên", "Phạm Thị Thuý Hải", "Đặng Thị Quyên", "Đường dẫn cá nhân của đại biểu"):
        assert name in text
    for url in [d["personal_url"] for d in delegates]:
        assert httpx.get(url.replace(url.split("/d/")[0], system.url)).status_code == 200


# --------------------------------------------------------------------------- publications and the scan page


def test_publish_needs_an_approved_version(staff, system) -> None:  # type: ignore[no-untyped-def]
    a = staff["a"]
    cid = new_congress(a)["id"]
    draft = approved_document(system.nats_url, cid, "Dự thảo báo cáo", approve=False)
    deadline = time.monotonic() + 10
    while True:
        answer = a.post(f"/api/congresses/{cid}/publications", json={"document_id": draft.document_id})
        if answer.status_code == 409 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_approved"
    unknown = a.post(f"/api/congresses/{cid}/publications", json={"document_id": str(uuid.uuid4())})
    assert unknown.status_code == 404


def test_scan_page_qr_codes_poster_file_and_revocation(staff, system, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = staff["a"], staff["b"]
    cid = new_congress(a, "Đại hội <b>Phụ nữ</b> thành phố")["id"]
    item = a.post(f"/api/congresses/{cid}/agenda", json={"title": "Thảo luận văn kiện"}).json()
    document = approved_document(system.nats_url, cid, SCRIPT_TITLE, item["id"])
    answer = publish_when_known(a, cid, {"document_id": document.document_id})
    assert answer.status_code == 201, answer.text
    publication = answer.json()
    assert publication["url"] == f"{system.url}/q/{publication['token']}"
    assert publication["agenda_item_id"] == item["id"] and publication["version"] == 1
    assert len(publication["token"]) * 6 >= 80
    again = a.post(f"/api/congresses/{cid}/publications", json={"document_id": document.document_id})
    assert again.status_code == 200 and again.json()["id"] == publication["id"]
    assert b.get(publication["qr_png_url"]).status_code == 404

    png = a.get(publication["qr_png_url"])
    assert png.headers["content-type"] == "image/png" and decode_png(png.content) == [publication["url"]]
    svg = a.get(publication["qr_svg_url"])
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")  # decoded in e2e
    poster = a.get(publication["poster_pdf_url"])
    assert poster.status_code == 200 and decode_pdf_pages(poster.content, tmp_path, dpi=60) == [publication["url"]]
    (tmp_path / "poster.pdf").write_bytes(poster.content)
    import subprocess

    poster_text = subprocess.run(["pdftotext", str(tmp_path / "poster.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Thảo luận văn kiện" in poster_text and "Dùng camera điện thoại quét mã QR để mở tài liệu." in poster_text

    page = httpx.get(publication["url"])
    assert page.status_code == 200 and len(page.content) < 20_000
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "Đại hội &lt;b&gt;Phụ nữ&lt;/b&gt; thành phố" in page.text and "Thảo luận văn kiện" in page.text
    assert 'property="og:title"' in page.text and "Mở tài liệu" in page.text
    assert "http://" not in page.text.replace(publication["url"], "")  # nothing external to load
    assert "Đã ký số" not in page.text
    english = httpx.get(publication["url"], headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Open the document" in english.text
    switched = httpx.get(publication["url"] + "?lang=en")
    assert "Open the document" in switched.text and "lang=en" in switched.headers["set-cookie"]

    file = httpx.get(f"{publication['url']}/file")
    assert file.status_code == 200 and file.content == document.data
    assert file.headers["etag"] == f'"{document.sha256}"' and file.headers["cache-control"] == "no-cache"
    assert "filename*=UTF-8''" in file.headers["content-disposition"]
    assert httpx.get(f"{publication['url']}/file", headers={"If-None-Match": file.headers["etag"]}).status_code == 304
    part = httpx.get(f"{publication['url']}/file", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == document.data[:100]

    signed(system.nats_url, cid, document, "VN-KY-7Q2M")
    deadline = time.monotonic() + 20  # consumed, then the page cache expires (TTL) on this replica
    while "Đã ký số — kiểm tra" not in httpx.get(publication["url"]).text and time.monotonic() < deadline:
        time.sleep(0.5)
    assert 'href="/verify/VN-KY-7Q2M"' in httpx.get(publication["url"]).text

    revoked = a.post(f"/api/congresses/{cid}/publications/{publication['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert a.post(f"/api/congresses/{cid}/publications/{publication['id']}/revoke").status_code == 200
    gone = httpx.get(publication["url"])
    assert gone.status_code == 410 and "Tài liệu này đã được thu hồi" in gone.text
    assert httpx.get(f"{publication['url']}/file", headers={"If-None-Match": file.headers["etag"]}).status_code == 410
    unknown = httpx.get(f"{system.url}/q/{'x' * 16}")
    assert unknown.status_code == 404 and "Không tìm thấy đường dẫn" in unknown.text


def test_views_are_counted_with_unique_delegates(staff, system) -> None:  # type: ignore[no-untyped-def]
    a = staff["a"]
    cid = new_congress(a)["id"]
    delegate = a.post(f"/api/congresses/{cid}/delegates", json={"full_name": "Bùi Thị Xuân"}).json()
    document = approved_document(system.nats_url, cid, "Báo cáo tài chính")
    publication = publish_when_known(a, cid, {"document_id": document.document_id}).json()
    with httpx.Client() as phone:
        phone.get(delegate["personal_url"].replace(delegate["personal_url"].split("/d/")[0], system.url))
        for _ in range(3):
            assert phone.get(publication["url"]).status_code == 200
    for _ in range(2):
        httpx.get(publication["url"])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listed = {p["id"]: p for p in a.get(f"/api/congresses/{cid}/publications").json()["items"]}
        if listed[publication["id"]]["views"] >= 5:
            break
        time.sleep(0.5)
    assert listed[publication["id"]]["views"] == 5
    assert listed[publication["id"]]["unique_delegates"] == 1


def test_delegates_audience_and_congress_isolation(staff, system) -> None:  # type: ignore[no-untyped-def]
    a = staff["a"]
    first, second = new_congress(a, "Đại hội A")["id"], new_congress(a, "Đại hội B")["id"]
    delegate_a = a.post(f"/api/congresses/{first}/delegates", json={"full_name": "Đỗ Thị A"}).json()
    delegate_b = a.post(f"/api/congresses/{second}/delegates", json={"full_name": "Đỗ Thị B"}).json()
    secret_b = approved_document(system.nats_url, second, "Tài liệu nội bộ B")
    publication = publish_when_known(a, second, {"document_id": secret_b.document_id, "audience": "delegates"}).json()
    assert publication["audience"] == "delegates"
    local = lambda url: url.replace(url.split("/", 3)[2], system.url.split("/", 3)[2])  # noqa: E731
    anonymous = httpx.get(publication["url"])
    assert anonymous.status_code == 403 and "đường dẫn cá nhân" in anonymous.text
    assert httpx.get(publication["url"] + "/file").status_code == 403
    with httpx.Client() as phone_a:
        home_a = phone_a.get(local(delegate_a["personal_url"]))
        assert "Đại hội A" in home_a.text and "Tài liệu nội bộ B" not in home_a.text
        assert phone_a.get(publication["url"]).status_code == 403
        assert phone_a.get(publication["url"] + "/file").status_code == 403
    with httpx.Client() as phone_b:
        home_b = phone_b.get(local(delegate_b["personal_url"]))
        assert "Tài liệu nội bộ B" in home_b.text
        page = phone_b.get(publication["url"])
        assert page.status_code == 200 and "Tài liệu nội bộ B" in page.text
        assert phone_b.get(publication["url"] + "/file").content == secret_b.data


def test_an_open_home_is_told_of_a_publish_once(staff, system) -> None:  # type: ignore[no-untyped-def]
    """The replica that publishes tells its open homes at once and skips its own event when it comes
    back on the live feed: one notification per publish, not two (2,000 homes, not 4,000 sends)."""
    import threading

    a = staff["a"]
    cid = new_congress(a, "Đại hội Hội Cựu chiến binh phường Lạc Viên")["id"]
    delegate = a.post(f"/api/congresses/{cid}/delegates", json={"full_name": "Vũ Thị Nga"}).json()
    token = delegate["personal_url"].split("/d/", 1)[1]
    document = approved_document(system.nats_url, cid, "Báo cáo tổng kết nhiệm kỳ")
    seen: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{system.url}/d/{token}/events", timeout=httpx.Timeout(5, read=4)) as answer:
            try:
                for line in answer.iter_lines():
                    if line.startswith("event:"):
                        seen.append(line.split(":", 1)[1].strip())
                        ready.set()
            except httpx.ReadTimeout:
                return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10) and seen == ["ready"]
    assert publish_when_known(a, cid, {"document_id": document.document_id}).status_code == 201
    listener.join(15)  # the stream stays quiet for 4 s after the last event, well after the feed's echo
    assert seen == ["ready", "documents"]
