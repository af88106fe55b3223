"""Rules of the day: who is present, whether the quorum is reached (in total and per unit),
how many printed pages the congress saved, and how names are folded for the desk's search.
No I/O: the handlers feed these with rows."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from congress.domain.congresses import quorum_reached

CHECKIN_METHODS = ("badge", "desk", "api")
MAX_REASON = 500


def fold(text: str) -> str:
    """Lower case without diacritics: "Nguyễn Thị Nguyên" → "nguyen thi nguyen".

    NFD separates the marks from the letters, but đ/Đ are letters of their own (no
    decomposition), so they are mapped explicitly.
    """
    text = unicodedata.normalize("NFC", text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def search_words(query: str) -> list[str]:
    """The folded words of a desk query; each must occur in the name (in any order)."""
    return [w for w in fold(query).split(" ") if w][:6]


@dataclass(frozen=True)
class UnitAttendance:
    unit: str
    registered: int
    present: int

    @property
    def absent(self) -> int:
        return self.registered - self.present


@dataclass(frozen=True)
class Attendance:
    registered: int
    present: int
    quorum: float
    units: tuple[UnitAttendance, ...] = ()

    @property
    def absent(self) -> int:
        return self.registered - self.present

    @property
    def quorum_reached(self) -> bool:
        return quorum_reached(self.present, self.registered, self.quorum)

    @property
    def needed(self) -> int:
        """Present delegates the quorum needs (the smallest n with n ≥ quorum × registered)."""
        if self.registered == 0:
            return 0
        n = int(self.quorum * self.registered)
        return n if quorum_reached(n, self.registered, self.quorum) else n + 1

    def unit_quorum_reached(self, unit: UnitAttendance) -> bool:
        return quorum_reached(unit.present, unit.registered, self.quorum)

    def as_json(self) -> dict[str, object]:
        return {
            "registered": self.registered,
            "present": self.present,
            "absent": self.absent,
            "quorum": self.quorum,
            "quorum_needed": self.needed,
            "quorum_reached": self.quorum_reached,
            "units": [{"unit": u.unit, "registered": u.registered, "present": u.present, "absent": u.absent,
                       "quorum_reached": self.unit_quorum_reached(u)} for u in self.units],
        }


def attendance_of(quorum: float, per_unit: Iterable[tuple[str, int, int]]) -> Attendance:
    """`per_unit`: (unit, registered, present) rows; units sorted by name (Vietnamese folded)."""
    units = tuple(sorted((UnitAttendance(u or "", r, p) for u, r, p in per_unit), key=lambda u: (fold(u.unit), u.unit)))
    return Attendance(sum(u.registered for u in units), sum(u.present for u in units), quorum, units)


# -- paper saved ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedDocument:
    document_id: str
    title: str
    pages: int
    audience: str
    views: int


@dataclass(frozen=True)
class PaperSaved:
    pages_not_printed: int
    documents: tuple[dict[str, object], ...] = field(default_factory=tuple)


def paper_saved(published: Iterable[PublishedDocument], registered: int) -> PaperSaved:
    """Pages of each published document × the delegates it was published to.

    Both audiences reach every registered delegate (a public document is published to the
    whole hall), so each document counts its pages × registered once, however often it was
    published (a re-publication is not a second print run). Views are summed per document.
    """
    by_document: dict[str, dict[str, object]] = {}
    for doc in published:
        entry = by_document.setdefault(doc.document_id, {"document_id": doc.document_id, "title": doc.title,
                                                          "pages": 0, "views": 0})
        entry["pages"] = max(int(entry["pages"]), doc.pages)  # type: ignore[call-overload]
        entry["views"] = int(entry["views"]) + doc.views  # type: ignore[call-overload]
    documents = tuple(sorted(by_document.values(), key=lambda d: (fold(str(d["title"])), str(d["document_id"]))))
    for entry in documents:
        entry["pages_not_printed"] = int(entry["pages"]) * registered  # type: ignore[call-overload]
    return PaperSaved(sum(int(d["pages_not_printed"]) for d in documents), documents)  # type: ignore[call-overload]


# -- the check-ins chart -----------------------------------------------------------------


@dataclass(frozen=True)
class ChartBar:
    start: datetime
    count: int
    cumulative: int


def checkins_over_time(moments: list[datetime], bucket_minutes: int | None = None, max_bars: int = 24) -> list[ChartBar]:
    """Check-ins counted per time bucket from the first to the last (bucket 5 min, widened so
    that at most `max_bars` bars are drawn)."""
    if not moments:
        return []
    moments = sorted(moments)
    first, last = moments[0], moments[-1]
    span_minutes = (last - first).total_seconds() / 60
    if bucket_minutes is None:
        bucket_minutes = 5
        while span_minutes / bucket_minutes >= max_bars:
            bucket_minutes *= 2
    start = first.replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % bucket_minutes)
    width = timedelta(minutes=bucket_minutes)
    bars: list[ChartBar] = []
    index, total = 0, 0
    cursor = start
    while cursor <= last:
        count = 0
        while index < len(moments) and moments[index] < cursor + width:
            count += 1
            index += 1
        total += count
        bars.append(ChartBar(cursor, count, total))
        cursor += width
    return bars


def clean_reason(reason: str | None) -> str:
    text = " ".join(unicodedata.normalize("NFC", reason or "").split())
    return text[:MAX_REASON]
