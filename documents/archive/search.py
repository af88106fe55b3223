"""Archive search: diacritics-insensitive Vietnamese, ranked, with a `<mark>` snippet per hit.

Each row is indexed twice: as written (NFC, lower case) and folded (no diacritics, đ → d;
Unicode does not decompose đ/Đ, so it is mapped explicitly). A query matches the folded
columns, so "dai hoi phu nu" finds "Đại hội Phụ nữ"; the original columns weigh more, so a
query typed with its diacritics ranks the exact spelling first ("Nguyễn" before "Nguyên").

SQLite: FTS5 (`archive_fts`, contentless, bm25 with column weights). PostgreSQL: a tsvector
with the 'simple' configuration, original text weighted A/C and folded text B/D, ranked with
ts_rank_cd. The snippet is cut in Python from the original text for both engines: ts_headline
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
FTS_WEIGHTS = (10.0, 2.0, 5.0, 1.0)  # title, body, title_folded, body_folded


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
        def group(columns: str, words: list[str]) -> str:
            return "{" + columns + "} : (" + " AND ".join('"' + w.replace('"', '""') + '"' for w in words) + ")"

        def phrase(columns: str, words: list[str]) -> str:
            return "{" + columns + "} : \"" + " ".join(w.replace('"', '""') for w in words) + "\""

        # Every row that matches has all the folded words. Typed with diacritics, the exact
        # spelling, in that order, adds to the score of the rows that have it (a one-word
        # phrase is the word): exact spellings rank first. Each further alternative would cost
        # FTS5 another pass over the same doclists for every matching row, so there are no others.
        expression = group("title_folded body_folded", self.folded)
        if self.original != self.folded:
            expression += " OR " + phrase("title body", self.original)
        return expression


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
        params["match"] = query.fts5()
        weights = ", ".join(str(w) for w in FTS_WEIGHTS)
        hits = f"SELECT rowid AS id, bm25(archive_fts, {weights}) AS rank FROM archive_fts WHERE archive_fts MATCH :match"
        if filters:  # the filters are on the small columns: the join costs an index lookup per match
            sql = f"SELECT h.id, h.rank FROM ({hits}) h JOIN archive_search s ON s.id = h.id WHERE 1=1{where} " \
                  f"ORDER BY h.rank, h.id"
        else:
            sql = f"{hits} ORDER BY rank, rowid"
    page = (await session.execute(text(sql + " LIMIT :limit OFFSET :offset"), params)).all()
    ranks = {row.id: row.rank for row in page[:limit]}
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
    return {"items": items, "next": encode_cursor(offset + limit) if len(page) > limit else None}
