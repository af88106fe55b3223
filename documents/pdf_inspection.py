"""Checking an uploaded PDF and extracting its text, with the work bounded.

A PDF is refused (422) when it is encrypted, damaged, has too many pages or objects, or its
streams inflate beyond reason (a "PDF bomb"). pypdf's own limits bound each stream and each
content stream's parsing; on top of that the whole check has a page limit, an object limit,
a text limit and a wall-clock budget checked between pages. The file is read through an open
file object, never loaded whole (pypdf reads a *path* into memory).

The service runs the check in a child process (`inspect_pdf_isolated`): pypdf loads every
image a page refers to while extracting its text, so a 20 MB scan would cost the service
20 MB; the child also gets a hard memory limit and is killed when over its time budget,
which no check inside the service's own process could enforce.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, apply_configuration
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from runtime.pdf import nfc

MB = 1024 * 1024


@dataclass(frozen=True)
class PdfLimits:
    max_pages: int = 2000
    max_objects: int = 500_000
    max_stream_bytes: int = 50 * MB
    max_text_chars: int = 20_000_000
    max_inflated_bytes: int = 200 * MB
    """All pages' content streams together, inflated."""
    max_memory_bytes: int = 1024 * MB
    """Address space of the checking child process."""
    seconds: float = 60.0


@dataclass(frozen=True)
class PdfInspection:
    pages: int
    text: str


class PdfRefused(Exception):
    """The PDF cannot be accepted; `code` and `message` (an English msgid) say why."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


_DAMAGED = ("pdf_damaged", "The PDF file is damaged and cannot be read.")
_TOO_COMPLEX = ("pdf_too_complex", "The PDF file is too complex to process (it may be a decompression bomb).")


def inspect_pdf(path: Path, limits: PdfLimits = PdfLimits()) -> PdfInspection:
    """Validate the PDF at `path` and return its page count and NFC text; raise PdfRefused."""
    started = time.monotonic()
    overrides = dict(
        maximum_declared_stream_length=limits.max_stream_bytes,
        zlib_maximum_output_length=limits.max_stream_bytes,
        lzw_maximum_output_length=limits.max_stream_bytes,
        run_length_maximum_output_length=limits.max_stream_bytes,
        array_based_stream_maximum_output_length=limits.max_stream_bytes,
        brotli_maximum_output_length=limits.max_stream_bytes,
        jbig2_maximum_output_length=limits.max_stream_bytes,
        image_maximum_buffer_size=limits.max_stream_bytes,
        page_tree_maximum_entries=limits.max_pages * 4,
        page_tree_maximum_page_entries=limits.max_pages * 200,
    )
    try:
        with apply_configuration(**overrides), open(path, "rb") as fh:
            reader = PdfReader(fh, strict=False, xref_stream_maximum_entries=limits.max_objects)
            if reader.is_encrypted:
                raise PdfRefused("pdf_encrypted", "The PDF file is encrypted or password-protected; upload it without a password.")
            declared = int(reader.trailer.get("/Size", 0) or 0)
            if declared > limits.max_objects or len(reader.xref_objStm) > limits.max_objects:
                raise PdfRefused(*_TOO_COMPLEX)
            pages = len(reader.pages)
            if pages == 0:
                raise PdfRefused(*_DAMAGED)
            if pages > limits.max_pages:
                raise PdfRefused("pdf_too_many_pages", "The PDF file has {pages} pages; the limit is {limit}.",
                                 pages=pages, limit=limits.max_pages)
            parts: list[str] = []
            length = inflated = 0
            for page in reader.pages:
                if time.monotonic() - started > limits.seconds:
                    raise PdfRefused(*_TOO_COMPLEX)
                # Inflate the page's content even when it shows no text (extract_text skips a page
                # without fonts): a bomb here would go off in every delegate's PDF viewer.
                contents = page.get_contents()
                inflated += len(contents.get_data()) if contents is not None else 0
                if inflated > limits.max_inflated_bytes:
                    raise PdfRefused(*_TOO_COMPLEX)
                text = page.extract_text() or ""
                length += len(text)
                if length > limits.max_text_chars:
                    raise PdfRefused(*_TOO_COMPLEX)
                parts.append(text)
            return PdfInspection(pages=pages, text=nfc("\n\f".join(parts)).replace("\x00", ""))
    except PdfRefused:
        raise
    except LimitReachedError as exc:
        raise PdfRefused(*_TOO_COMPLEX) from exc
    except FileNotDecryptedError as exc:
        raise PdfRefused("pdf_encrypted", "The PDF file is encrypted or password-protected; upload it without a password.") from exc
    except DependencyError as exc:
        # An AES-encrypted file needs the `cryptography` package to even look inside: still encrypted.
        raise PdfRefused("pdf_encrypted", "The PDF file is encrypted or password-protected; upload it without a password.") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError,
            AssertionError, ZeroDivisionError, UnicodeError) as exc:
        # pypdf surfaces damage as many exception types; all of them mean "cannot be read".
        raise PdfRefused(*_DAMAGED) from exc


async def inspect_pdf_isolated(path: Path, limits: PdfLimits = PdfLimits()) -> PdfInspection:
    """`inspect_pdf` in a child process with a memory limit, killed after its time budget."""

    def limit_memory() -> None:  # runs in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory_bytes, limits.max_memory_bytes))

    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "documents.pdf_inspection", str(path), json.dumps(dataclasses.asdict(limits)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=limit_memory,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), timeout=limits.seconds + 10)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise PdfRefused(*_TOO_COMPLEX) from None
    except asyncio.CancelledError:
        child.kill()
        await child.wait()
        raise
    if child.returncode != 0 or not out:
        # Out of memory (MemoryError, or killed by the limit) or crashed on the file: too much to read.
        raise PdfRefused(*_TOO_COMPLEX)
    answer = json.loads(out)
    if "refused" in answer:
        refused = answer["refused"]
        raise PdfRefused(refused["code"], refused["message"], **refused["params"])
    return PdfInspection(pages=answer["pages"], text=answer["text"])


def _main(argv: list[str]) -> int:
    path, limits = Path(argv[0]), PdfLimits(**json.loads(argv[1]))
    try:
        found = inspect_pdf(path, limits)
        answer: dict = {"pages": found.pages, "text": found.text}
    except PdfRefused as exc:
        answer = {"refused": {"code": exc.code, "message": exc.message, "params": exc.params}}
    except MemoryError:
        answer = {"refused": {"code": _TOO_COMPLEX[0], "message": _TOO_COMPLEX[1], "params": {}}}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
