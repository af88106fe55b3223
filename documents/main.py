"""The documents service process: `uvicorn documents.main:app`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

import contracts.documents
from documents.api import archive as archive_api
from documents.api import documents as documents_api
from documents.api import renders, whoami
from documents.archive.fixity import FixityAuditor
from documents.config import Settings
from documents.db import make_database
from documents.handlers import Deps
from documents.handlers.archive_worker import ArchiveWorker
from documents.handlers.import_signed_revision import SignedRevisionImporter
from documents.pages import archive as archive_pages
from documents.subscribers import SUBSCRIPTIONS
from documents.upload_leftovers import remove_stale_uploads
from runtime.blobs import BlobStore
from runtime.service import ServiceRuntime, create_app

HERE = Path(__file__).parent
log = structlog.get_logger()


def bootstrap(settings: Settings | None = None) -> ServiceRuntime:
    """The one place that wires the documents service's real parts together."""
    settings = settings or Settings()
    runtime = DocumentsRuntime(
        name="documents",
        settings=settings,
        db=make_database(settings.resolved_database_url()),
        subscriptions=SUBSCRIPTIONS,
        publishes=contracts.documents,
        migrations=HERE / "migrations",
    )
    deps = Deps(db=runtime.db, settings=settings)
    runtime.extras["deps"] = deps
    importer = SignedRevisionImporter(deps)
    runtime.extras["importer"] = importer
    archive_worker = ArchiveWorker(deps, runtime)
    fixity = FixityAuditor(deps)
    runtime.extras["archive_worker"] = archive_worker
    runtime.extras["fixity"] = fixity

    async def blobs_and_importer(rt: ServiceRuntime) -> None:
        settings.upload_tmp_dir.mkdir(parents=True, exist_ok=True)
        deps.blob_store = BlobStore(rt.js, settings.blob_cache_dir)
        importer.start()
        archive_worker.start()
        fixity.start()

    async def remove_upload_leftovers(rt: ServiceRuntime) -> None:
        removed = await asyncio.to_thread(remove_stale_uploads, settings.upload_tmp_dir, settings.stale_upload_seconds)
        if removed:
            log.info("documents.stale_uploads_removed", count=len(removed))

    runtime.on_db_ready.append(remove_upload_leftovers)
    runtime.on_nats_ready.append(blobs_and_importer)
    return runtime


class DocumentsRuntime(ServiceRuntime):
    """The shared runtime, plus stopping the signed-revision importer before the database goes."""

    async def stop(self) -> None:
        await self.extras["importer"].stop()
        await self.extras["archive_worker"].stop()
        await self.extras["fixity"].stop()
        await super().stop()


def make_app(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    runtime = bootstrap(settings)
    return create_app(runtime, routers=[
        whoami.router, renders.router, documents_api.router, archive_api.router, archive_pages.router,
    ], title="Documents service")


app = make_app()
