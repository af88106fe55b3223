"""What a congress's record holds, collected from the documents service's own copies only:
the congress and its agenda, the roster (names, units, delegate types: never phones or emails)
and every check-in, each published or approved document in its final (signed) form with its
signatures and completion certificate, the minutes, view counts, and the congress's whole event
history from the hash-chained event log.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from archive_verify.package import GENESIS, chain_hash
from documents import model
from documents.archive.package import BagContent
from documents.db import (
    agenda_items,
    checkins,
    congresses,
    delegates,
    documents,
    event_log,
    publications,
    signatures,
    versions,
)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
EXTENSIONS = {"application/pdf": "pdf", "video/mp4": "mp4"}


class ChainBroken(RuntimeError):
    """The event log of the congress does not verify: nothing is sealed over a broken chain."""


@dataclass
class Collected:
    content: BagContent
    blobs: dict[str, str] = field(default_factory=dict)
    """bag path -> sha256 of a blob to fetch into the cache before the bag is written."""
    meta: dict[str, Any] = field(default_factory=dict)
    index: list[dict[str, Any]] = field(default_factory=list)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def event_history(session: AsyncSession, congress_id: str) -> tuple[list[dict[str, Any]], str]:
    """The congress's chain as stored, re-verified: (entries, head). Raises ChainBroken."""
    rows = (await session.execute(
        select(event_log).where(event_log.c.congress_id == congress_id).order_by(event_log.c.id)
    )).all()
    entries, prev = [], GENESIS
    for number, row in enumerate(rows, start=1):
        if row.prev_hash != prev or chain_hash(row.prev_hash, row.payload) != row.hash:
            raise ChainBroken(f"event log of congress {congress_id} breaks at entry {number} (row {row.id})")
        entries.append({
            "n": number, "event_id": row.event_id, "subject": row.subject, "occurred_at": _iso(row.occurred_at),
            "stream": row.stream, "stream_seq": row.stream_seq, "payload": row.payload,
            "prev_hash": row.prev_hash, "hash": row.hash,
        })
        prev = row.hash
    return entries, prev


async def collect(session: AsyncSession, congress_id: str, record_id: str, retain_until: datetime) -> Collected:
    congress = (await session.execute(select(congresses).where(congresses.c.id == congress_id))).first()
    if congress is None:
        raise LookupError(f"congress {congress_id} is not known to the documents service")
    agenda = [{"id": r.id, "position": r.position, "title": r.title, "description": r.description}
              for r in (await session.execute(select(agenda_items).where(agenda_items.c.congress_id == congress_id)
                                              .order_by(agenda_items.c.position))).all()]
    checked = {r.delegate_id: r.checked_in_at for r in (await session.execute(
        select(checkins).where(checkins.c.congress_id == congress_id, checkins.c.removed.is_(False)))).all()}
    roster = [{"id": r.id, "full_name": r.full_name, "unit": r.unit, "delegate_type": r.delegate_type,
               "checked_in_at": _iso(checked.get(r.id))}
              for r in (await session.execute(select(delegates).where(
                  delegates.c.congress_id == congress_id, delegates.c.removed.is_(False))
                  .order_by(delegates.c.full_name, delegates.c.id))).all()]
    names = {d["id"]: d for d in roster}
    checkin_list = sorted(
        [{"delegate_id": d, "full_name": names.get(d, {}).get("full_name", ""), "unit": names.get(d, {}).get("unit", ""),
          "checked_in_at": _iso(at)} for d, at in checked.items()], key=lambda c: c["checked_in_at"] or "")

    history, head = await event_history(session, congress_id)
    completed: dict[str, dict[str, Any]] = {}
    views: dict[str, dict[str, Any]] = defaultdict(lambda: {"views": 0, "unique_delegates": 0, "windows": 0})
    for entry in history:
        if entry["subject"] == "signing.request.completed":
            payload = json.loads(entry["payload"])
            completed[payload["request_id"]] = payload
        elif entry["subject"] == "congress.document.viewed":
            payload = json.loads(entry["payload"])
            counted = views[payload["publication_id"]]
            counted["views"] += payload["views"]
            counted["unique_delegates"] += payload["unique_delegates"]
            counted["windows"] += 1
            counted["document_id"] = payload["document_id"]

    pubs = (await session.execute(select(publications).where(publications.c.congress_id == congress_id)
                                  .order_by(publications.c.published_at))).all()
    published_docs = defaultdict(list)
    for p in pubs:
        published_docs[p.document_id].append({
            "publication_id": p.id, "version": p.version, "audience": p.audience,
            "published_at": _iso(p.published_at), "revoked_at": _iso(p.revoked_at),
            "views": views.get(p.id, {}).get("views", 0),
            "unique_delegates": views.get(p.id, {}).get("unique_delegates", 0)})

    collected = Collected(BagContent())
    docs_out = []
    doc_rows = (await session.execute(select(documents).where(documents.c.congress_id == congress_id)
                                      .order_by(documents.c.created_at, documents.c.id))).all()
    for doc in doc_rows:
        version_list = (await session.execute(select(versions).where(versions.c.document_id == doc.id)
                                              .order_by(versions.c.version))).all()
        final = next((v for v in reversed(version_list) if v.status in model.FROZEN), None)
        if final is None and doc.id not in published_docs:
            continue  # a draft that never became part of the congress
        final = final or version_list[-1]
        base = f"data/documents/{doc.id}"
        path = f"{base}/v{final.version}.{EXTENSIONS.get(final.content_type, 'bin')}"
        collected.blobs[path] = final.sha256
        if final.text:
            collected.content.files[f"{base}/text.txt"] = final.text.encode()
        sigs = [{"signer": s.signer, "signer_full_name": s.signer_full_name, "role": s.role,
                 "verification_code": s.verification_code, "signed_sha256": s.signed_sha256,
                 "signed_at": _iso(s.signed_at), "request_id": s.request_id}
                for s in (await session.execute(select(signatures).where(signatures.c.document_id == doc.id)
                                                .order_by(signatures.c.signed_at))).all()]
        certificate = None
        done = completed.get(final.request_id or "")
        if done and done.get("completion_certificate_sha256"):
            certificate = f"data/certificates/{final.request_id}.pdf"
            collected.blobs[certificate] = done["completion_certificate_sha256"]
        docs_out.append({
            "id": doc.id, "title": doc.title, "kind": doc.kind, "agenda_item_id": doc.agenda_item_id,
            "version": final.version, "sha256": final.sha256, "size": final.size, "pages": final.pages,
            "content_type": final.content_type, "file": path, "file_name": final.file_name,
            "status": final.status, "signed": bool(final.signed), "approved_via": final.approved_via,
            "approved_at": _iso(final.approved_at), "request_id": final.request_id,
            "signatures": sigs, "completion_certificate": certificate,
            "completion_certificate_sha256": done.get("completion_certificate_sha256") if done else None,
            "publications": published_docs.get(doc.id, []),
        })
        collected.index.append({"kind": doc.kind, "document_id": doc.id, "title": doc.title,
                                "body": final.text or "", "unit": congress.unit,
                                "year": congress.starts_at.year if congress.starts_at else None})

    present = len(checkin_list)
    counts = {"delegates": len(roster), "present": present, "documents": len(docs_out),
              "signed_documents": sum(1 for d in docs_out if d["signed"]), "events": len(history),
              "agenda_items": len(agenda), "views": sum(v["views"] for v in views.values())}
    congress_view = {"id": congress.id, "title": congress.title, "organisation": congress.organisation,
                     "unit": congress.unit, "venue": congress.venue, "starts_at": _iso(congress.starts_at),
                     "ends_at": _iso(congress.ends_at), "closed_at": _iso(congress.closed_at),
                     "quorum": congress.quorum}
    record = {"record_id": record_id, "congress": congress_view, "agenda": agenda, "counts": counts,
              "chain_head": head, "retain_until": retain_until.isoformat(),
              "minutes": [d["id"] for d in docs_out if d["kind"] == "minutes"]}
    content = collected.content
    content.add_json("data/record.json", record)
    content.add_json("data/roster.json", roster)
    content.add_json("data/checkins.json", checkin_list)
    content.add_json("data/documents.json", docs_out)
    content.add_json("data/views.json", [{"publication_id": k, **v} for k, v in sorted(views.items())])
    content.files["data/events.jsonl"] = "".join(
        json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in history).encode()
    content.files["data/README.html"] = TEMPLATES.get_template("archive/readme.html").render(
        record=record, congress=congress_view, roster=roster, checkins=checkin_list, documents=docs_out,
        agenda=agenda, counts=counts).encode()
    content.chain_head, content.chain_length = head, len(history)
    content.bag_info = {
        "Source-Organization": congress.organisation,
        "Organization-Unit": congress.unit,
        "External-Identifier": record_id,
        "External-Description": congress.title,
        "Congress-Id": congress.id,
        "Congress-Title": congress.title,
        "Congress-Venue": congress.venue,
        "Congress-Starts": _iso(congress.starts_at) or "",
        "Congress-Ends": _iso(congress.ends_at) or "",
        "Congress-Closed": _iso(congress.closed_at) or "",
        "Delegates-Registered": str(counts["delegates"]),
        "Delegates-Present": str(present),
        "Documents": str(counts["documents"]),
        "Event-Count": str(len(history)),
        "Retain-Until": retain_until.date().isoformat(),
    }
    year = congress.starts_at.year if congress.starts_at else (congress.closed_at.year if congress.closed_at else None)
    body = " ".join([congress.organisation, congress.unit, congress.venue,
                     *(f"{a['title']} {a['description']}" for a in agenda),
                     *(d["full_name"] for d in roster), *(d["title"] for d in docs_out)])
    collected.index.insert(0, {"kind": "congress", "document_id": None, "title": congress.title, "body": body,
                               "unit": congress.unit, "year": year})
    for entry in collected.index:
        entry["year"] = entry["year"] or year
    collected.meta = {"title": congress.title, "organisation": congress.organisation, "unit": congress.unit,
                      "year": year, "starts_at": congress.starts_at, "ends_at": congress.ends_at, "counts": counts,
                      "chain_head": head, "chain_length": len(history)}
    return collected


def index_entries_from_package(record: dict[str, Any], roster: list[dict[str, Any]], docs: list[dict[str, Any]],
                               texts: dict[str, str]) -> list[dict[str, Any]]:
    """The search rows of a record, read back from its package (imports, index rebuilds)."""
    congress = record.get("congress", {})
    starts = congress.get("starts_at") or congress.get("closed_at") or ""
    year = int(starts[:4]) if starts[:4].isdigit() else None
    unit = congress.get("unit", "")
    body = " ".join([congress.get("organisation", ""), unit, congress.get("venue", ""),
                     *(f"{a.get('title', '')} {a.get('description', '')}" for a in record.get("agenda", [])),
                     *(d.get("full_name", "") for d in roster), *(d.get("title", "") for d in docs)])
    entries = [{"kind": "congress", "document_id": None, "title": congress.get("title", ""), "body": body,
                "unit": unit, "year": year}]
    for d in docs:
        entries.append({"kind": d.get("kind", "report"), "document_id": d.get("id"), "title": d.get("title", ""),
                        "body": texts.get(d.get("id", ""), ""), "unit": unit, "year": year})
    return entries
