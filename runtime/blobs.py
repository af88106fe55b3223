"""Content-addressed blobs in the JetStream Object Store, with a local read cache.

Every service and every NATS replica reads the same bytes from the Object Store bucket
`blobs`; the object name is the sha256 (hex) of the bytes, so a blob is immutable and
identical uploads are stored once. Downloads are served from a local cache
(`<DATA_DIR>/blobcache/<sha256>`) that Caddy can send itself (X-Accel-Redirect): a cache file
appears only complete and verified (written under a temporary name, hash checked, renamed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any

from nats.js.errors import NotFoundError, ObjectNotFoundError

from contracts.streams import BLOB_BUCKET

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1024 * 1024


class BlobNotFound(LookupError):
    pass


class BlobCorrupted(ValueError):
    """Bytes read back do not hash to their name."""


def check_sha256(sha256: str) -> str:
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class BlobStore:
    """The `blobs` Object Store bucket plus this machine's verified read cache."""

    def __init__(self, js: Any, cache_dir: Path, bucket: str = BLOB_BUCKET) -> None:
        self._js = js
        self.cache_dir = Path(cache_dir)
        self.bucket = bucket
        self._store: Any = None
        self._fetching: dict[str, asyncio.Future[Path]] = {}

    async def _obs(self) -> Any:
        if self._store is None:
            self._store = await self._js.object_store(self.bucket)
        return self._store

    def cache_path(self, sha256: str) -> Path:
        return self.cache_dir / check_sha256(sha256)

    async def exists(self, sha256: str) -> bool:
        obs = await self._obs()
        try:
            info = await obs.get_info(check_sha256(sha256))
        except (ObjectNotFoundError, NotFoundError):
            return False
        return not info.deleted

    async def put_file(self, path: Path, sha256: str) -> bool:
        """Store the file under its sha256 unless that blob exists; True when bytes were sent.

        The caller computed `sha256` while receiving the bytes; the Object Store checks its
        own digest of what it stored, so a mismatch between the two cannot go unnoticed.
        """
        check_sha256(sha256)
        if await self.exists(sha256):
            return False
        obs = await self._obs()
        with open(path, "rb") as fh:
            await obs.put(sha256, fh)
        return True

    async def put_bytes(self, data: bytes) -> str:
        """Store small bytes (a rendered PDF, a manifest); returns their sha256."""
        sha256 = hashlib.sha256(data).hexdigest()
        if not await self.exists(sha256):
            obs = await self._obs()
            await obs.put(sha256, data)
        return sha256

    async def get_to_cache(self, sha256: str) -> Path:
        """The verified local copy of a blob, fetched from the Object Store if needed."""
        target = self.cache_path(sha256)
        if target.exists():
            return target
        # Fifty phones asking for the same new document at once cause one fetch.
        pending = self._fetching.get(sha256)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._fetching[sha256] = future
        try:
            path = await self._fetch(sha256, target)
            future.set_result(path)
            return path
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._fetching[sha256]

    async def _fetch(self, sha256: str, target: Path) -> Path:
        obs = await self._obs()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{sha256[:16]}-", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                try:
                    await obs.get(sha256, writeinto=fh)
                except (ObjectNotFoundError, NotFoundError) as exc:
                    raise BlobNotFound(sha256) from exc
            actual = await asyncio.to_thread(sha256_of_file, tmp)
            if actual != sha256:
                raise BlobCorrupted(f"blob {sha256} read back as {actual}")
            os.chmod(tmp, 0o644)  # Caddy may run as another user
            os.replace(tmp, target)
            return target
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def adopt_into_cache(self, path: Path, sha256: str) -> Path:
        """Move a file whose sha256 the caller verified into the cache (no second download)."""
        target = self.cache_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            path.unlink(missing_ok=True)
        else:
            os.chmod(path, 0o644)
            os.replace(path, target)
        return target

    async def open(self, sha256: str) -> IO[bytes]:
        """A binary file object over the blob's verified bytes (from the local cache)."""
        return open(await self.get_to_cache(sha256), "rb")
