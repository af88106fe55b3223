"""Fonts and text for every PDF the system draws: Noto Sans from PyPI, NFC text, no silent boxes.

reportlab draws a character its font lacks as an empty box without any error (FACTS.md), so
every renderer checks its strings with `ensure_glyphs` before drawing. The font comes from the
`fontpkg-noto-sans` package, never from the machine. The package ships a variable font; reportlab
reads its default instance (Regular), which is what we draw with.

The check reads the font's cmap through reportlab's own TrueType parser: it is the same table
reportlab maps characters with when it draws, so the check and the drawing cannot disagree, and
no second font library is needed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import fontpkg
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "NotoSans"
FONT_FAMILY = "Noto Sans"

# Characters that are layout, not ink: they need no glyph (line breaks, tabs, soft hyphen...).
_NOT_DRAWN = {"\n", "\r", "\t", "\u00ad", "\u200b", "\u200c", "\u200d", "\ufeff"}


class MissingGlyphs(ValueError):
    """The font has no glyph for some characters of a text that was about to be drawn."""

    def __init__(self, font: str, characters: list[str]) -> None:
        self.font = font
        self.characters = characters
        listed = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in characters)
        super().__init__(f"the font {font} has no glyph for: {listed}")

    def describe(self) -> str:
        """The missing characters as a reader sees them: `"ꝏ" (U+A74F), "😀" (U+1F600)`."""
        return ", ".join(f"\u201c{c}\u201d (U+{ord(c):04X})" for c in self.characters)


def nfc(text: str) -> str:
    """Vietnamese input arrives composed or decomposed; store and draw one form (NFC)."""
    return unicodedata.normalize("NFC", text)


def font_path(weight: int = 400, style: str = "normal") -> Path:
    """The TrueType file of Noto Sans installed by the `fontpkg-noto-sans` package."""
    return Path(fontpkg.path(FONT_FAMILY, weight=weight, style=style, nearest=True))


@lru_cache(maxsize=1)
def register_fonts() -> str:
    """Register Noto Sans with reportlab once per process; returns the font name to draw with."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(font_path())))
    return FONT


@dataclass(frozen=True)
class _Cmap:
    codepoints: frozenset[int]


@lru_cache(maxsize=8)
def _cmap(font: str) -> _Cmap:
    if font == FONT:
        register_fonts()
    registered = pdfmetrics.getFont(font)
    face = getattr(registered, "face", None)
    char_to_glyph = getattr(face, "charToGlyph", None)
    if char_to_glyph is None:
        # A built-in Type 1 font (Helvetica...) has no cmap to check against and draws
        # Vietnamese as boxes: refuse to vouch for it.
        raise ValueError(f"{font} is not an embedded TrueType font; its glyphs cannot be checked")
    return _Cmap(frozenset(code for code, glyph in char_to_glyph.items() if glyph))


def missing_glyphs(text: str, font: str = FONT) -> list[str]:
    """The distinct characters of `text` (NFC) that `font` cannot draw, in order of appearance."""
    codepoints = _cmap(font).codepoints
    missing: list[str] = []
    for char in nfc(text):
        if char in _NOT_DRAWN or ord(char) in codepoints or char in missing:
            continue
        missing.append(char)
    return missing


def ensure_glyphs(text: str, font: str = FONT) -> str:
    """Return `text` in NFC, or raise MissingGlyphs naming every character the font lacks."""
    missing = missing_glyphs(text, font)
    if missing:
        raise MissingGlyphs(font, missing)
    return nfc(text)
