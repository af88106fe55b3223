"""Archive figures, each against a baseline measured in the same run:

- search over 100,000 synthetic Vietnamese records (the archive's query: folding, exact-spelling
  boost, filters, <mark> snippets, cursor) vs the bare FTS5 bm25 query on the same index:
  p95 under 50 ms and at most 2x the bare query's p95;
- sealing a congress of 2,000 delegates and 50 documents (100 MB): writing the bag (sha256 and
  sha512 manifests), zipping it and adding the seal, vs hashing the same bytes with sha256 and
  sha512 (in parallel): at most 2x;
- offline verification of that package (archive_verify) vs the same hashing: at most 1.5x.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Figure

RECORDS = 100_000
QUERIES = 300
DELEGATES = 2_000
DOCUMENTS = 50
PAYLOAD_BYTES = 100 * 1024 * 1024
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Thị", "Văn", "Ngọc", "Minh", "Thu", "Hồng", "Đức", "Quang"]
GIVEN = ["Nguyên", "Hoa", "Lan", "Mai", "Bình", "Hùng", "Dũng", "Hương", "Thảo", "Phương", "Đào", "Yến", "Tâm"]
ORGS = ["Hội Liên hiệp Phụ nữ", "Đoàn Thanh niên", "Hội Nông dân", "Hội Cựu chiến binh", "Mặt trận Tổ quốc"]
PLACES = ["phường Bến Nghé", "xã Tân Phú", "phường Đa Kao", "xã Đông Hòa", "thị trấn Củ Chi", "phường Hòa Bình",
          "xã Phước Lộc", "phường Tân Định"]
WORDS = ("báo cáo tổng kết nhiệm kỳ phương hướng nhiệm vụ nghị quyết đại hội đại biểu biên bản kiểm phiếu "
         "bầu cử ban chấp hành công tác tuyên truyền phụ nữ thanh niên nông dân kinh tế xã hội giáo dục y tế "
         "môi trường an sinh chuyển đổi số hội viên phát triển tổ chức").split()
SEARCHES = ["dai hoi phu nu", "Đại hội Phụ nữ", "nguyen thi nguyen", "Nguyễn Thị Nguyên", "bao cao tong ket",
            "nghị quyết đại hội", "ban chap hanh", "chuyen doi so", "hoi nong dan tan phu", "kiem phieu bau cu"]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _fill_index(path: Path) -> None:
    """100,000 rows written straight into the tables the service reads (the same fold as the service)."""
    from documents.archive.search import fold, normalise

    rng = random.Random(9)
    conn = sqlite3.connect(path)
    rows, fts = [], []
    for i in range(1, RECORDS + 1):
        org, place = rng.choice(ORGS), rng.choice(PLACES)
        kind = "congress" if i % 5 == 0 else rng.choice(["report", "resolution", "minutes"])
        title = f"Đại hội {org} {place} lần thứ {rng.randint(1, 15)}" if kind == "congress" else \
            f"{rng.choice(['Báo cáo', 'Nghị quyết', 'Biên bản'])} {org} {place}"
        body = " ".join([*(rng.choice(WORDS) for _ in range(60)), *(_name(rng) for _ in range(8))])
        unit = place.capitalize()
        rows.append((i, str(uuid.UUID(int=i // 5 + 1)), None, kind, unit, fold(unit), rng.randint(2015, 2026), title,
                     body))
        fts.append((i, normalise(title), normalise(body), fold(title), fold(body)))
    conn.executemany("INSERT INTO archive_search (id, congress_id, document_id, kind, unit, unit_folded, year, title, "
                     "body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO archive_fts (rowid, title, body, title_folded, body_folded) VALUES (?, ?, ?, ?, ?)",
                     fts)
    conn.commit()
    conn.execute("INSERT INTO archive_fts(archive_fts) VALUES('optimize')")
    conn.commit()
    conn.close()


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def search_figures(tmp: Path) -> list[Figure]:
    from sqlalchemy import text

    from documents.archive import search
    from documents.db import make_database
    from runtime.migrations import upgrade

    url = f"sqlite:///{tmp / 'search.sqlite3'}"
    upgrade(Path(__file__).resolve().parents[1] / "documents" / "migrations", url)
    _fill_index(tmp / "search.sqlite3")
    db = make_database(url)

    async def measure() -> tuple[list[float], list[float]]:
        ours, bare = [], []
        async with db.session() as session:
            for i in range(QUERIES + 20):
                q = SEARCHES[i % len(SEARCHES)]
                started = time.perf_counter()
                result = await search.search(session, q, limit=20)
                elapsed = time.perf_counter() - started
                assert result["items"], q
                folded = search.Query.parse(q)
                match = "{title_folded body_folded} : (" + " AND ".join(f'"{w}"' for w in folded.folded) + ")"
                started = time.perf_counter()
                (await session.execute(text(
                    "SELECT rowid, bm25(archive_fts) AS rank FROM archive_fts WHERE archive_fts MATCH :m "
                    "ORDER BY rank LIMIT 21"), {"m": match})).all()
                bare_elapsed = time.perf_counter() - started
                if i >= 20:  # warm-up excluded
                    ours.append(elapsed)
                    bare.append(bare_elapsed)
        await db.dispose()
        return ours, bare

    ours, bare = asyncio.run(measure())
    p95, bare_p95 = _p95(ours), _p95(bare)
    return [
        Figure("archive search p95 (100k records)", "< 50 ms", p95, None, p95 < 50, "ms"),
        Figure("archive search p95 / bare FTS5 p95", "<= 2x", p95 / bare_p95, bare_p95, p95 / bare_p95 <= 2.0, "x"),
    ]


def _hash_both(path: Path) -> None:
    a, b = hashlib.sha256(), hashlib.sha512()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            a.update(chunk)
            b.update(chunk)


def hash_all(paths: list[Path]) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(_hash_both, paths))
    return time.perf_counter() - started


def seal_figures(tmp: Path) -> list[Figure]:
    from archive_verify import chain_hash, verify_package
    from documents.archive.package import BagContent, add_seal, build_bag, write_zip
    from tests.support.archive import make_ca

    rng = random.Random(3)
    ca = make_ca()
    blobs = []
    for i in range(DOCUMENTS):
        path = tmp / f"doc-{i}.pdf"
        path.write_bytes(b"%PDF-1.7\n" + os.urandom(PAYLOAD_BYTES // DOCUMENTS))
        blobs.append(path)
    content = BagContent()
    roster = [{"id": str(uuid.uuid4()), "full_name": _name(rng), "unit": rng.choice(PLACES),
               "delegate_type": "chính thức", "checked_in_at": datetime.now(UTC).isoformat()} for _ in range(DELEGATES)]
    content.add_json("data/roster.json", roster)
    content.add_json("data/checkins.json", roster)
    prev, lines = "0" * 64, []
    for delegate in roster * 3:
        payload = json.dumps({"delegate_id": delegate["id"], "subject": "congress.delegate.checked_in"})
        digest = chain_hash(prev, payload)
        lines.append(json.dumps({"payload": payload, "prev_hash": prev, "hash": digest}))
        prev = digest
    content.files["data/events.jsonl"] = ("\n".join(lines) + "\n").encode()
    content.add_json("data/record.json", {"congress": {"title": "Đại hội"}})
    content.blobs = {f"data/documents/{i}/v2.pdf": p for i, p in enumerate(blobs)}
    content.chain_head, content.chain_length = prev, len(lines)

    def seal_once(n: int) -> float:
        work = tmp / f"seal-{n}"
        started = time.perf_counter()
        built = build_bag(work / "bag", content, str(uuid.uuid4()), datetime.now(UTC))
        write_zip(built.directory, work / "unsealed.zip")
        add_seal(work / "unsealed.zip", work / "package.zip", built.seal_manifest, ca.seal(built.seal_manifest), None)
        return time.perf_counter() - started

    hash_all(blobs)  # warm the page cache for both
    seal_times = [seal_once(n) for n in range(3)]
    hash_times = [hash_all(blobs) for _ in range(3)]
    seal, hashing = statistics.median(seal_times), statistics.median(hash_times)
    package = tmp / "seal-0" / "package.zip"
    verify_times = []
    for _ in range(3):
        started = time.perf_counter()
        report = verify_package(package, ca.pem)
        verify_times.append(time.perf_counter() - started)
        assert report.intact, report.problems
    verify = statistics.median(verify_times)
    return [
        Figure("seal 2,000 delegates + 50 docs (100 MB) / sha256+sha512", "<= 2x", seal / hashing, hashing,
               seal / hashing <= 2.0, "x"),
        Figure("offline verify (100 MB) / sha256+sha512", "<= 1.5x", verify / hashing, hashing,
               verify / hashing <= 1.5, "x"),
    ]


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        root = Path(tmp)
        (root / "search").mkdir()
        (root / "seal").mkdir()
        return [*search_figures(root / "search"), *seal_figures(root / "seal")]


if __name__ == "__main__":
    for figure in run():
        print(figure)
