"""Use cases of the documents service, one file each; `Deps` is what they run with."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from documents.config import Settings
from documents.pdf_inspection import PdfLimits
from runtime.blobs import BlobStore
from runtime.db import Database
from runtime.errors import Unavailable
from runtime.uploads import UploadLimits, mp4_type, pdf_type


@dataclass
class Deps:
    """The real parts a use case needs, wired once in documents/main.py (fakes in unit tests)."""

    db: Database
    settings: Settings
    blob_store: BlobStore | None = None
    pdf_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    """PDF checks are CPU-bound: at most this many at once, so uploads cannot starve downloads."""

    @property
    def blobs(self) -> BlobStore:
        if self.blob_store is None:  # NATS not connected yet
            raise Unavailable("unavailable", "The service is temporarily unavailable. Please try again in a moment.",
                              headers={"Retry-After": "5"})
        return self.blob_store

    @property
    def upload_limits(self) -> UploadLimits:
        return UploadLimits(types=(pdf_type(self.settings.max_pdf_bytes), mp4_type(self.settings.max_video_bytes)))

    @property
    def pdf_limits(self) -> PdfLimits:
        s = self.settings
        return PdfLimits(max_pages=s.max_pdf_pages, max_objects=s.max_pdf_objects, seconds=s.pdf_check_seconds)
