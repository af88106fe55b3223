"""Streaming multipart uploads: count bytes as they arrive, sniff the type, hash, spool to disk.

FastAPI's `UploadFile` reads the whole body (spooling it) before the endpoint runs, so a
500 MB upload would be accepted, stored and only then refused. Here the body is fed chunk by
chunk from the ASGI `receive` stream into python-multipart's streaming parser:

- the file's first bytes decide its type (`%PDF-`, an MP4 `ftyp` box), whatever its name
  or declared Content-Type say: anything else is refused (415) before more is read;
- bytes are counted as they arrive and the upload stops at the type's limit (413);
- the file goes to a temporary file under the caller's directory while its sha256 is
  computed, so memory stays flat whatever the size;
- small text fields are capped, and so is the whole body.

Nothing survives a refusal: the temporary file is removed before the error propagates.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from runtime.errors import ApiError, Invalid, TooLarge, UnsupportedMediaType

SNIFF_BYTES = 12


@dataclass(frozen=True)
class FileType:
    """An accepted file type: recognised by its first bytes, with its own size limit."""

    name: str
    content_type: str
    extension: str
    max_bytes: int
    matches: Callable[[bytes], bool]


def is_pdf(head: bytes) -> bool:
    return head.startswith(b"%PDF-")


def is_mp4(head: bytes) -> bool:
    # ISO base media file: the first box is `ftyp` (size, then the 4-byte type).
    return len(head) >= 8 and head[4:8] == b"ftyp"


def pdf_type(max_bytes: int) -> FileType:
    return FileType("pdf", "application/pdf", ".pdf", max_bytes, is_pdf)


def mp4_type(max_bytes: int) -> FileType:
    return FileType("video", "video/mp4", ".mp4", max_bytes, is_mp4)


@dataclass(frozen=True)
class UploadLimits:
    types: tuple[FileType, ...]
    max_field_bytes: int = 16 * 1024
    max_fields: int = 20
    overhead_bytes: int = 256 * 1024
    """Room for the multipart framing and the text fields around the file."""

    @property
    def max_body_bytes(self) -> int:
        return max(t.max_bytes for t in self.types) + self.overhead_bytes


@dataclass
class ReceivedFile:
    path: Path
    size: int
    sha256: str
    type: FileType
    display_name: str

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    file: ReceivedFile | None = None

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def display_name(raw: str, max_length: int = 200) -> str:
    """A file name as sent, made safe to show: no path, no control characters, NFC, bounded.

    It is only ever shown (and offered back in Content-Disposition), never used as a path.
    """
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in _CONTROL.sub("", name) if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.strip().lstrip(".").strip()
    return name[:max_length]


class _Receiver:
    """python-multipart callbacks: one file part to disk, the other parts as short strings."""

    def __init__(self, limits: UploadLimits, tmp_dir: Path, file_field: str) -> None:
        self.limits = limits
        self.tmp_dir = tmp_dir
        self.file_field = file_field
        self.form = ReceivedForm()
        self.finished = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._part_name = ""
        self._part_is_file = False
        self._part_complete = False
        self._field_value = bytearray()
        self._head = bytearray()
        self._type: FileType | None = None
        self._fh: IO[bytes] | None = None
        self._path: Path | None = None
        self._digest = hashlib.sha256()
        self._size = 0
        self._filename = ""

    # -- parser callbacks --------------------------------------------------------------
    def on_part_begin(self) -> None:
        self._headers = {}
        self._part_name = ""
        self._part_is_file = False
        self._field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").strip().lower()] = bytes(self._header_value)
        self._header_name = bytearray()
        self._header_value = bytearray()

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get("content-disposition", b"").decode("latin-1"))
        if disposition != b"form-data":
            raise Invalid("upload_malformed", "The upload is not a valid multipart form.")
        self._part_name = params.get(b"name", b"").decode("utf-8", "replace")
        if self._part_name == self.file_field and b"filename" in params:
            if self._fh is not None or self._part_complete:
                raise Invalid("upload_malformed", "Send exactly one file.")
            self._part_is_file = True
            self._filename = params[b"filename"].decode("utf-8", "replace")
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="upload-", dir=self.tmp_dir)
            self._fh = os.fdopen(fd, "wb")
            self._path = Path(name)
        elif len(self.form.fields) >= self.limits.max_fields:
            raise Invalid("upload_malformed", "The upload is not a valid multipart form.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self._part_is_file:
            self._field_value += chunk
            if len(self._field_value) > self.limits.max_field_bytes:
                raise Invalid("field_too_long", "The field '{field}' is too long.", field=self._part_name)
            return
        if self._type is None:
            self._head += chunk
            if len(self._head) < SNIFF_BYTES:
                return
            self._decide_type()
            chunk, self._head = bytes(self._head), bytearray()
        self._write(chunk)

    def on_part_end(self) -> None:
        if self._part_is_file:
            if self._type is None:  # a file shorter than the sniffing window
                if not self._head:
                    raise Invalid("file_empty", "The file is empty.")
                self._decide_type()
                self._write(bytes(self._head))
            self._part_complete = True
        else:
            self.form.fields[self._part_name] = self._field_value.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.finished = True

    # -- file bytes --------------------------------------------------------------------
    def _decide_type(self) -> None:
        head = bytes(self._head)
        for candidate in self.limits.types:
            if candidate.matches(head):
                self._type = candidate
                return
        accepted = ", ".join(t.name.upper() for t in self.limits.types)
        raise UnsupportedMediaType(
            "unsupported_file_type", "This kind of file is not accepted. Accepted: {accepted}.", accepted=accepted
        )

    def _write(self, chunk: bytes) -> None:
        assert self._fh is not None and self._type is not None
        self._size += len(chunk)
        if self._size > self._type.max_bytes:
            raise TooLarge(
                "upload_too_large",
                "The file is larger than the limit of {limit_mb} MB for this kind of file.",
                limit_mb=self._type.max_bytes // (1024 * 1024),
            )
        self._digest.update(chunk)
        self._fh.write(chunk)

    def result(self) -> ReceivedForm:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._path is not None:
            if not self._part_complete or self._type is None:
                raise Invalid("upload_incomplete", "The upload was interrupted. Please send the file again.")
            self.form.file = ReceivedFile(
                path=self._path,
                size=self._size,
                sha256=self._digest.hexdigest(),
                type=self._type,
                display_name=display_name(self._filename),
            )
        return self.form

    def cleanup(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()


async def receive_multipart(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    content_length: str | None,
    limits: UploadLimits,
    tmp_dir: Path,
    file_field: str = "file",
) -> ReceivedForm:
    """Parse a multipart/form-data body as it streams in; see the module docstring.

    `chunks` is the request body (Starlette's `request.stream()`, or any async iterator in
    tests). Raises TooLarge (413), UnsupportedMediaType (415) or Invalid (422) and leaves no
    file behind; on success the caller owns `form.file` and must move or discard it.
    """
    mime, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("not_multipart", "Send the file as multipart/form-data.")
    if content_length and content_length.isdigit() and int(content_length) > limits.max_body_bytes:
        raise TooLarge(
            "upload_too_large",
            "The file is larger than the limit of {limit_mb} MB for this kind of file.",
            limit_mb=max(t.max_bytes for t in limits.types) // (1024 * 1024),
        )
    receiver = _Receiver(limits, Path(tmp_dir), file_field)
    callbacks = {
        name: getattr(receiver, name)
        for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
            "on_part_data", "on_part_end", "on_end",
        )
    }  # fmt: skip
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limits.max_body_bytes:
                raise TooLarge(
                    "upload_too_large",
                    "The file is larger than the limit of {limit_mb} MB for this kind of file.",
                    limit_mb=max(t.max_bytes for t in limits.types) // (1024 * 1024),
                )
            if chunk:
                parser.write(chunk)
        parser.finalize()
        if not receiver.finished:
            raise Invalid("upload_incomplete", "The upload was interrupted. Please send the file again.")
        return receiver.result()
    except MultipartParseError as exc:
        receiver.cleanup()
        raise _stop_reading(Invalid("upload_malformed", "The upload is not a valid multipart form.")) from exc
    except ApiError as exc:
        receiver.cleanup()
        raise _stop_reading(exc)
    except BaseException:
        receiver.cleanup()
        raise


def _stop_reading(exc: ApiError) -> ApiError:
    """Refused before the body ended: close the connection after the answer, so the server does
    not go on reading (and discarding) the rest of a 500 MB body."""
    exc.headers["Connection"] = "close"
    return exc
