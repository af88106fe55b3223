"""Operator commands of the documents service: `python -m documents.cli rebuild-search-index`.

The archive's search index is disposable: this drops it and rebuilds it from the sealed packages
in the Object Store (their record, roster, document list and extracted texts).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import nats
from rich.progress import Progress
from sqlalchemy import select

from documents.archive import search
from documents.archive.assemble import index_entries_from_package
from documents.config import Settings
from documents.db import archive_records, make_database
from documents.handlers.archive_records import _read_package
from runtime.blobs import BlobStore
from runtime.migrations import upgrade


async def rebuild_search_index(settings: Settings) -> int:
    upgrade(settings_migrations(), settings.resolved_database_url())
    db = make_database(settings.resolved_database_url())
    nc = await nats.connect(settings.nats_servers, user=settings.nats_user or None,
                            password=settings.nats_password or None, user_credentials=settings.nats_creds or None)
    try:
        blobs = BlobStore(nc.jetstream(), settings.blob_cache_dir)
        async with db.session() as session:
            records = (await session.execute(select(archive_records).where(archive_records.c.state == "sealed"))).all()
        async with db.uow() as uow:
            await search.clear_index(uow.session)
        with Progress() as progress:
            task = progress.add_task("Xây lại chỉ mục tìm kiếm", total=len(records))
            for record in records:
                path = await blobs.get_to_cache(record.package_sha256)
                content = await asyncio.to_thread(_read_package, path)
                entries = index_entries_from_package(content["record"], content["roster"], content["docs"],
                                                     content["texts"])
                async with db.uow() as uow:
                    await search.index_congress(uow.session, record.congress_id, entries)
                progress.advance(task)
        return len(records)
    finally:
        await nc.close()
        await db.dispose()


def settings_migrations():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parent / "migrations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m documents.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rebuild-search-index", help="drop and rebuild the archive search index")
    args = parser.parse_args(argv)
    if args.command == "rebuild-search-index":
        count = asyncio.run(rebuild_search_index(Settings()))
        print(f"indexed {count} record(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
