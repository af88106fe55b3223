"""Archive search: diacritics-insensitive Vietnamese, ranked, with a `<mark>` snippet per hit.

Each row is indexed twice: as written (NFC, lower case) and folded (no diacritics, đ → d;
Unicode does not decompose đ/Đ, so it is mapped explicitly). A query matches the folded
columns, so "dai hoi phu nu" finds "Đại hội Phụ nữ"; the original columns weigh more, so a
query typed with its diacritics ranks the exact spelling first ("Nguyễn" before "Nguyên").

SQLite: FTS5 (`archive_fts`, contentless). Ranking is by tiers, then newest first: the exact
spelling as a phrase in the title (8), every word in the title (4), the exact spelling as a
phrase anywhere (2), the words as a phrase anywhere (1). bm25 is not used: it counts every
row holding each query word before ranking anything, and the words archivists type ("đại
hội", "phụ nữ") are in nearly every record, which put a search at 200-350 ms over 100,000
records. When more than `RANK_WINDOW` records match, the newest `RANK_WINDOW` of them are
ranked and the answer says so (`capped`): the page asks for another word or a filter.
PostgreSQL: a tsvector with the 'simple' configuration, original text weighted A/C and folded
text B/D, ranked with ts_rank_cd. The snippet is cut in Python from the original text for both engines: ts_headline
and FTS5's snippet() only mark tokens spelled like the query, and a folded query must mark
"Đại" when the user typed "dai".

The index is disposable: `python -m documents.cli rebuild-search-index` rebuilds it from the
sealed packages.
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from documents.db import archive_search
from runtime.errors import Invalid

WORD = re.compile(r"\w+")
MAX_TERMS = 12
PG_BODY_CHARS = 400_000
"""A tsvector holds at most 1 MB: longer texts are indexed up to here (the metadata row still finds
the congress)."""
RANK_WINDOW = 2000
"""At most this many matching records (the newest) are ranked per search (SQLite)."""


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord("đ"): "d", ord("Đ"): "D"}
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
        if base and base != char and base.isascii():
            table[code] = base
    for code in range(0x0300, 0x0370):  # stray combining marks (text that was not NFC)
        table[code] = None
    return table


_FOLD = _fold_table()


def fold(value: str) -> str:
    """"Đại hội Phụ nữ" -> "dai hoi phu nu"."""
    return unicodedata.normalize("NFC", value).translate(_FOLD).lower()


def normalise(value: str) -> str:
    return unicodedata.normalize("NFC", value).lower()


@dataclass(frozen=True)
class Query:
    original: list[str]
    folded: list[str]

    @classmethod
    def parse(cls, q: str) -> "Query":
        words = WORD.findall(normalise(q))[:MAX_TERMS]
        return cls(words, [fold(w) for w in words])

    def fts5(self) -> str:
        """Every folded word, in the title or the text: what a record must hold to be found."""
        return _group("title_folded body_folded", self.folded)

    def tiers(self) -> list[tuple[int, str]]:
        """(points, FTS5 expression) of each ranking tier the query can tell apart."""
        typed_with_marks = self.original != self.folded
        tiers = [(8, _phrase("title", self.original))] if typed_with_marks else []
        tiers.append((4, _group("title_folded", self.folded)))
        if typed_with_marks:
            tiers.append((2, _phrase("title body", self.original)))
        if len(self.folded) > 1:
            tiers.append((1, _phrase("title_folded body_folded", self.folded)))
        return tiers


def _group(columns: str, words: list[str]) -> str:
    return "{" + columns + "} : (" + " AND ".join('"' + w.replace('"', '""') + '"' for w in words) + ")"


def _phrase(columns: str, words: list[str]) -> str:
    return "{" + columns + "} : \"" + " ".join(w.replace('"', '""') for w in words) + "\""


# -- writing ---------------------------------------------------------------------------------


async def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def _unindex_fts(session: AsyncSession, rows: list[Any]) -> None:
    for row in rows:  # contentless FTS5: a delete names the values the row was indexed with
        await session.execute(text(
            "INSERT INTO archive_fts(archive_fts, rowid, title, body, title_folded, body_folded) "
            "VALUES('delete', :id, :title, :body, :tf, :bf)"
        ), {"id": row.id, "title": normalise(row.title), "body": normalise(row.body),
            "tf": fold(row.title), "bf": fold(row.body)})


async def index_congress(session: AsyncSession, congress_id: str, entries: list[dict[str, Any]]) -> None:
    """Replace the congress's rows: entries have kind, document_id, unit, year, title, body."""
    dialect = await _dialect(session)
    old = (await session.execute(select(archive_search).where(archive_search.c.congress_id == congress_id))).all()
    if old and dialect != "postgresql":
        await _unindex_fts(session, old)
    await session.execute(delete(archive_search).where(archive_search.c.congress_id == congress_id))
    for entry in entries:
        title, body = unicodedata.normalize("NFC", entry["title"]), unicodedata.normalize("NFC", entry["body"])
        row_id = (await session.execute(insert(archive_search).values(
            congress_id=congress_id, document_id=entry.get("document_id"), kind=entry["kind"], unit=entry["unit"],
            unit_folded=fold(entry["unit"]), year=entry.get("year"), title=title, body=body,
        ).returning(archive_search.c.id))).scalar_one()
        if dialect == "postgresql":
            await session.execute(text(
                "UPDATE archive_search SET tsv = setweight(to_tsvector('simple', :t), 'A') || "
                "setweight(to_tsvector('simple', :tf), 'B') || setweight(to_tsvector('simple', :b), 'C') || "
                "setweight(to_tsvector('simple', :bf), 'D') WHERE id = :id"
            ), {"id": row_id, "t": normalise(title), "tf": fold(title), "b": normalise(body[:PG_BODY_CHARS]),
                "bf": fold(body[:PG_BODY_CHARS])})
        else:
            await session.execute(text(
                "INSERT INTO archive_fts(rowid, title, body, title_folded, body_folded) VALUES (:id, :t, :b, :tf, :bf)"
            ), {"id": row_id, "t": normalise(title), "b": normalise(body), "tf": fold(title), "bf": fold(body)})


async def clear_index(session: AsyncSession) -> None:
    if await _dialect(session) != "postgresql":
        await session.execute(text("INSERT INTO archive_fts(archive_fts) VALUES('delete-all')"))
    await session.execute(delete(archive_search))


# -- reading ---------------------------------------------------------------------------------


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[:1] == "o" and raw[1:].isdigit() and int(raw[1:]) <= 100_000:
            return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise Invalid("invalid_cursor", "The page cursor is not valid.")


def snippet(body: str, title: str, query: Query, words_around: int = 12) -> str:
    """A short piece of the original text around the first match, matches in <mark>, HTML-escaped."""
    wanted = set(query.folded)
    best: tuple[int, str, list[tuple[int, int]]] = (0, body, [])
    for source in (body, title):  # the text that holds the most of the query's words
        matches = _matching_words(source, wanted, limit=16)
        covered = len({fold(source[a:b]) for a, b in matches})
        if covered > best[0]:
            best = (covered, source, matches)
    _, source, matches = best
    if not matches:
        return html.escape(" ".join(body[:4000].split()[: words_around * 2]))
    first = matches[0][0]
    # Only the words around the first match are looked at, however long the text.
    before = list(WORD.finditer(source, max(0, first - 40 * words_around), first))[-words_around:]
    start = before[0].start() if before else first
    after = list(itertools.islice(WORD.finditer(source, first), words_around + 1))
    end = after[-1].end()
    out, position = [], start
    for a, b in matches:
        if a < start or b > end:
            continue
        out.append(html.escape(source[position:a]))
        out.append(f"<mark>{html.escape(source[a:b])}</mark>")
        position = b
    out.append(html.escape(source[position:end]))
    text_ = " ".join("".join(out).split())
    return ("… " if start > 0 else "") + text_ + (" …" if end < len(source) else "")


def _matching_words(source: str, wanted: set[str], limit: int) -> list[tuple[int, int]]:
    """(start, end) of the first words of `source` whose folded form is one of `wanted`."""
    if not wanted:
        return []
    folded = fold(source)
    if len(folded) != len(source):  # a fold that changed lengths (stray marks): word by word
        found = []
        for m in WORD.finditer(source):
            if fold(m.group()) in wanted:
                found.append(m.span())
                if len(found) >= limit:
                    break
        return found
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in sorted(wanted, key=len, reverse=True))
                         + r")(?!\w)")
    return [m.span() for m in itertools.islice(pattern.finditer(folded), limit)]


async def search(session: AsyncSession, q: str, unit: str | None = None, year: int | None = None,
                 kind: str | None = None, cursor: str | None = None, limit: int = 20) -> dict[str, Any]:
    offset = decode_cursor(cursor)
    query = Query.parse(q or "")
    filters, params = [], {"limit": limit + 1, "offset": offset}
    if unit:
        filters.append("s.unit_folded = :unit")
        params["unit"] = fold(unit.strip())
    if year:
        filters.append("s.year = :year")
        params["year"] = year
    if kind:
        filters.append("s.kind = :kind")
        params["kind"] = kind
    where = "".join(f" AND {f}" for f in filters)
    # Ranking picks the page's ids first; the titles and texts (the large part of a row) are read
    # for that page only, never carried through the sort of every match.
    if not query.folded:
        sql = f"SELECT s.id, 0 AS rank FROM archive_search s WHERE 1=1{where} ORDER BY s.year DESC, s.id DESC"
    elif await _dialect(session) == "postgresql":
        params.update(qf=" ".join(query.folded), qo=" ".join(query.original))
        rank = "ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}', s.tsv, {}('simple', {}))"
        sql = (f"SELECT s.id, {rank.format('plainto_tsquery', ':qf')} + {rank.format('plainto_tsquery', ':qo')} "
               f"+ {rank.format('phraseto_tsquery', ':qf')} + {rank.format('phraseto_tsquery', ':qo')} AS rank "
               f"FROM archive_search s WHERE s.tsv @@ plainto_tsquery('simple', :qf){where} "
               f"ORDER BY rank DESC, s.id")
    else:
        return await _search_fts5(session, query, where, params, offset, limit)
    page = (await session.execute(text(sql + " LIMIT :limit OFFSET :offset"), params)).all()
    ranks = {row.id: row.rank for row in page[:limit]}
    return await _answer(session, query, ranks, offset, limit, more=len(page) > limit)


async def _search_fts5(session: AsyncSession, query: Query, where: str, params: dict[str, Any], offset: int,
                       limit: int) -> dict[str, Any]:
    """The newest `RANK_WINDOW` matches, scored by tiers (each tier one FTS5 query over the
    window's rowid range), then the page."""
    params = {**params, "match": query.fts5(), "window": RANK_WINDOW + 1}
    newest = "SELECT h.rowid AS id FROM archive_fts h"
    if where:  # the filters are on the small columns: an index lookup per match, newest first
        newest += " JOIN archive_search s ON s.id = h.rowid"
    newest += f" WHERE archive_fts MATCH :match{where} ORDER BY h.rowid DESC LIMIT :window"
    ids = list((await session.scalars(text(newest), params)).all())
    capped = len(ids) > RANK_WINDOW
    del ids[RANK_WINDOW:]
    score = dict.fromkeys(ids, 0)
    if ids:
        for points, expression in query.tiers():
            in_tier = await session.scalars(
                text("SELECT rowid FROM archive_fts WHERE archive_fts MATCH :tier AND rowid >= :low"),
                {"tier": expression, "low": ids[-1]})
            for row_id in in_tier:
                if row_id in score:
                    score[row_id] += points
    ordered = sorted(score, key=lambda row_id: (-score[row_id], -row_id))
    ranks = {row_id: score[row_id] for row_id in ordered[offset:offset + limit]}
    answer = await _answer(session, query, ranks, offset, limit, more=len(ordered) > offset + limit)
    answer["capped"] = RANK_WINDOW if capped else None
    return answer


async def _answer(session: AsyncSession, query: Query, ranks: dict[int, Any], offset: int, limit: int,
                  more: bool) -> dict[str, Any]:
    """The page's rows (titles and texts read for these ids only), in rank order, with snippets."""
    rows = {row.id: row for row in (await session.execute(
        select(archive_search.c.id, archive_search.c.congress_id, archive_search.c.document_id, archive_search.c.kind,
               archive_search.c.unit, archive_search.c.year, archive_search.c.title, archive_search.c.body)
        .where(archive_search.c.id.in_(list(ranks))))).all()} if ranks else {}
    items = [{
        "congress_id": row.congress_id,
        "document_id": row.document_id,
        "kind": row.kind,
        "unit": row.unit,
        "year": row.year,
        "title": row.title,
        "snippet": snippet(row.body, row.title, query) if query.folded else html.escape(row.title),
        "score": round(abs(float(ranks[row_id])), 6),
    } for row_id in ranks if (row := rows.get(row_id)) is not None]
    return {"items": items, "next": encode_cursor(offset + limit) if more else None, "capped": None}
