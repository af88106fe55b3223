"""Use cases of the signing service, one module per concern; `Deps` is what they run with."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.blobs import BlobStore
from runtime.db import Database
from signing.config import Settings
from signing.pki import KeyProtector


@dataclass
class Deps:
    """The real parts the use cases need; built once in signing/main.py."""

    settings: Settings
    db: Database
    protector: KeyProtector
    js_of: Callable[[], Any]  # JetStream context, available once NATS is up
    cache_dir: Path
    _blobs: BlobStore | None = field(default=None, init=False)

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            self._blobs = BlobStore(self.js_of(), self.cache_dir)
        return self._blobs

    async def read_blob(self, sha256: str) -> bytes:
        path = await self.blobs.get_to_cache(sha256)
        return await asyncio.to_thread(path.read_bytes)
