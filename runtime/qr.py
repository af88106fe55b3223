"""QR codes for URLs (badges, slips, posters, PNG and SVG downloads), from the `qrcode` library.

`qrcode` spends most of its time trying all eight mask patterns to pick the "best" one
(FACTS.md: ~160 PNGs/s). Every mask gives a valid code that any reader decodes; the choice
only trims rare hard-to-read patterns. Badges print thousands of codes, so we fix the mask
and pick the version from the data length once per length: ~10× faster. Tests decode the
results with a real decoder (zxing-cpp) at print sizes.

Error correction M (15 %): survives a fold or a smudge on a badge, keeps the code small.
"""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.constants
import qrcode.image.svg
from qrcode.util import QRData

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
MASK_PATTERN = 4
QUIET_ZONE = 4  # modules of white around the code, as the standard asks


@lru_cache(maxsize=256)
def _version_for(length: int) -> int:
    """The smallest version that holds `length` bytes (byte mode): depends on the length only."""
    probe = qrcode.QRCode(error_correction=ERROR_CORRECTION, mask_pattern=MASK_PATTERN)
    probe.add_data(QRData(b"x" * length, mode=qrcode.util.MODE_8BIT_BYTE))
    return probe.best_fit()


def _code(data: str, border: int = QUIET_ZONE, box_size: int = 10, image_factory=None) -> qrcode.QRCode:  # type: ignore[no-untyped-def]
    raw = data.encode("utf-8")
    code = qrcode.QRCode(
        version=_version_for(len(raw)),
        error_correction=ERROR_CORRECTION,
        mask_pattern=MASK_PATTERN,
        border=border,
        box_size=box_size,
        image_factory=image_factory,
    )
    code.add_data(QRData(raw, mode=qrcode.util.MODE_8BIT_BYTE))
    code.make(fit=False)
    return code


def matrix(data: str) -> list[list[bool]]:
    """The modules (True = dark), without the quiet zone."""
    return _code(data, border=0).get_matrix()


def png(data: str, box_size: int = 10) -> bytes:
    image = _code(data, box_size=box_size).make_image()
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def svg(data: str) -> str:
    """A scalable code: one path, white background, quiet zone included."""
    image = _code(data, image_factory=qrcode.image.svg.SvgPathFillImage).make_image()
    return image.to_string(encoding="unicode")


def draw(canvas, data: str, x: float, y: float, size: float) -> None:  # type: ignore[no-untyped-def]
    """Draw the code on a reportlab canvas as vector rectangles, `size` wide including the quiet
    zone, lower-left corner at (x, y). Runs of dark modules in a row become one rectangle."""
    modules = matrix(data)
    count = len(modules) + 2 * QUIET_ZONE
    unit = size / count
    path = canvas.beginPath()
    for row_index, row in enumerate(modules):
        top = y + size - (row_index + QUIET_ZONE + 1) * unit
        start = None
        for col_index, dark in enumerate([*row, False]):
            if dark and start is None:
                start = col_index
            elif not dark and start is not None:
                path.rect(x + (start + QUIET_ZONE) * unit, top, (col_index - start) * unit, unit)
                start = None
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.setLineWidth(0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
