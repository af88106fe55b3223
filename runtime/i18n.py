"""Vietnamese first, English second: gettext catalogues (.po, read with Babel) and language choice.

Source strings (msgids) are English; each package keeps `locale/vi/LC_MESSAGES/messages.po`.
Catalogues are read from the .po files at start, so no compiled artefact is committed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

_catalogue_dirs: list[Path] = [Path(__file__).parent / "locale"]


def add_catalogue_dir(path: Path) -> None:
    """A service adds its own catalogue directory (its strings override the runtime's)."""
    if path not in _catalogue_dirs:
        _catalogue_dirs.append(path)
        _translations.cache_clear()


@lru_cache(maxsize=8)
def _translations(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for directory in _catalogue_dirs:
        po = directory / language / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as fh:
            catalogue = read_po(fh, locale=language)
        for message in catalogue:
            if message.id and message.string and not message.fuzzy:
                merged[str(message.id)] = str(message.string)
    return merged


def gettext(message: str, language: str = DEFAULT_LANGUAGE, **params: object) -> str:
    text = _translations(language).get(message, message) if language != "en" else message
    return text.format(**params) if params else text


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The cookie/query choice wins; then Accept-Language; Vietnamese when nothing matches."""
    if chosen in LANGUAGES:
        return chosen  # type: ignore[return-value]
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, tag.strip().lower()))
    for _weight, tag in sorted(ranked, key=lambda r: -r[0]):
        base = tag.split("-", 1)[0]
        if base in LANGUAGES:
            return base
    return DEFAULT_LANGUAGE


def missing_translations(language: str, msgids: list[str]) -> list[str]:
    table = _translations(language)
    return [m for m in msgids if m not in table]
