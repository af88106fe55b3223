"""runtime/uploads.py: the streaming multipart layer, fed chunk by chunk (temp files only)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.errors import Invalid, TooLarge, UnsupportedMediaType
from runtime.uploads import UploadLimits, display_name, mp4_type, pdf_type, receive_multipart

LIMITS = UploadLimits(types=(pdf_type(64 * 1024), mp4_type(128 * 1024)), max_field_bytes=100)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 100  # 25.6 KB, every byte value
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x01" * 1000
CT = "multipart/form-data; boundary=XyZ"


def body(file: bytes | None, filename: str = "a.pdf", **fields: str) -> bytes:
    parts = [f'--XyZ\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    if file is not None:
        parts.append(f'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + file + b"\r\n")
    return b"".join(parts) + b"--XyZ--\r\n"


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def receive(data: bytes, tmp: Path, size: int = 7, content_type: str = CT, length: str | None = None):  # type: ignore[no-untyped-def]
    return await receive_multipart(chunks(data, size), content_type, length, LIMITS, tmp)


@pytest.mark.parametrize("chunk_size", [1, 5, 11, 4096, 1 << 20])
async def test_file_and_fields_arrive_whatever_the_chunking(tmp_path: Path, chunk_size: int) -> None:
    form = await receive(body(PDF, title="Báo cáo", kind="report"), tmp_path, chunk_size)
    assert form.fields == {"title": "Báo cáo", "kind": "report"}
    assert form.file is not None
    assert form.file.path.read_bytes() == PDF
    assert (form.file.size, form.file.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())
    assert form.file.type.name == "pdf" and form.file.path.parent == tmp_path
    form.discard()
    assert list(tmp_path.iterdir()) == []


async def test_type_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    form = await receive(body(MP4, filename="report.pdf"), tmp_path)
    assert form.file is not None and form.file.type.content_type == "video/mp4"
    form.discard()
    with pytest.raises(UnsupportedMediaType) as refused:
        await receive(body(b"<html>%PDF-1.4" + b"x" * 100, filename="ok.pdf"), tmp_path)
    assert refused.value.headers["Connection"] == "close"
    assert list(tmp_path.iterdir()) == []


async def test_each_type_has_its_own_limit_enforced_while_streaming(tmp_path: Path) -> None:
    consumed = 0

    async def counting(data: bytes) -> AsyncIterator[bytes]:
        nonlocal consumed
        for i in range(0, len(data), 1024):
            consumed += 1024
            yield data[i : i + 1024]

    big_pdf = body(b"%PDF-1.7\n" + b"0" * (10 * 64 * 1024))
    with pytest.raises(TooLarge):
        await receive_multipart(counting(big_pdf), CT, None, LIMITS, tmp_path)
    assert consumed < 64 * 1024 + 4096  # stopped at the limit, not at the end of the body
    assert list(tmp_path.iterdir()) == []
    video = body(MP4[:32] + b"1" * (100 * 1024))  # over the PDF limit, under the video limit
    form = await receive(video, tmp_path, 4096)
    assert form.file is not None and form.file.type.name == "video"
    form.discard()


async def test_declared_length_over_every_limit_is_refused_before_reading(tmp_path: Path) -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    with pytest.raises(TooLarge):
        await receive_multipart(never(), CT, str(10 * 1024 * 1024), LIMITS, tmp_path)


@pytest.mark.parametrize(("data", "content_type", "error", "code"), [
    (body(PDF), "application/json", UnsupportedMediaType, "not_multipart"),
    (body(None, title="t"), CT, None, None),
    (body(b""), CT, Invalid, "file_empty"),
    (body(PDF)[:-40], CT, Invalid, "upload_incomplete"),
    (body(PDF, title="x" * 101), CT, Invalid, "field_too_long"),
    (body(PDF)[:-9] + b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="b.pdf"\r\n\r\n%PDF-1.7\r\n--XyZ--\r\n',
     CT, Invalid, "upload_malformed"),
])
async def test_malformed_bodies(tmp_path: Path, data: bytes, content_type: str, error, code) -> None:  # type: ignore[no-untyped-def]
    if error is None:
        form = await receive(data, tmp_path, content_type=content_type)
        assert form.file is None and form.fields == {"title": "t"}
        return
    with pytest.raises(error) as refused:
        await receive(data, tmp_path, content_type=content_type)
    assert refused.value.code == code
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("raw", "shown"), [
    ("bao-cao.pdf", "bao-cao.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\thu ky\\Biên bản.pdf", "Biên bản.pdf"),
    ("\x07Tham\x00 luận\x1b.pdf", "Tham luận.pdf"),
    ("Bie\u0302n ba\u0309n.pdf", "Biên bản.pdf"),  # decomposed input comes out NFC
    ("..hidden", "hidden"),
    ("x" * 300, "x" * 200),
])
def test_display_name(raw: str, shown: str) -> None:
    assert display_name(raw) == shown
