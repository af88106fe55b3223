"""Writing a record as a BagIt bag (RFC 8493) with sha256 and sha512 manifests, straight into a zip.

The bag is written here rather than with `bagit.make_bag`/`Bag.save`: those change the
process-wide working directory while they run (unsafe in a service with threads), hash the
payload one file at a time and need the bag as a directory first. Here the zip is the only
copy written: while the payload goes into it, other threads hash each file once for both
algorithms, several files at a time; the zip's own sha256 is taken from the bytes as they are
written; the seal is later appended to that same zip (its central directory rewritten, nothing
before it). The result is an ordinary bag: the tests validate it with the `bagit` library.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import mmap
import os
import queue
import shutil
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from zlib_ng import zlib_ng

from archive_verify.package import (
    ALGORITHMS,
    CHAIN_HEAD_FILE,
    SEAL_FORMAT,
    SEAL_MANIFEST_FILE,
    SEAL_SIGNATURE_FILE,
    SEAL_TIMESTAMP_FILE,
    TAG_MANIFESTS,
)

CHUNK = 1024 * 1024
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
STORED_SUFFIXES = (".pdf", ".mp4", ".p7s", ".tst", ".der", ".zip")
"""Already compressed (or tiny and binary): stored as is, so reading them back costs no inflating."""


@dataclass
class BagContent:
    """What goes into a record's bag: generated files (bytes) and blobs (files on disk)."""

    files: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, Path] = field(default_factory=dict)
    bag_info: dict[str, str] = field(default_factory=dict)
    chain_head: str = ""
    chain_length: int = 0

    def add_json(self, path: str, value: Any) -> None:
        self.files[path] = (json.dumps(value, ensure_ascii=False, indent=1, default=_json_default) + "\n").encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _manifest_lines(entries: dict[str, dict[str, str]], alg: str) -> str:
    return "".join(f"{digests[alg]}  {path}\n" for path, digests in sorted(entries.items()))


def _bag_info_text(info: dict[str, str]) -> str:
    lines = []
    for key, value in info.items():
        value = " ".join(str(value).split())  # one line per tag; no line breaks inside a value
        lines.append(f"{key}: {value}\n")
    return "".join(lines)


class _HashThread:
    """Hash algorithms over a sequence of byte strings, on a thread of its own, fed in order.

    hashlib releases the GIL on large buffers, so the writing thread goes on copying while this
    one hashes. `feed(key, data)`: a new key starts new digests. The queue is bounded: a slow
    hash holds the copy back instead of buffering a large file in memory."""

    def __init__(self, *algorithms: str, depth: int = 32) -> None:
        self.algorithms = algorithms
        self.digests: dict[str, dict[str, Any]] = {}
        self._error: BaseException | None = None
        self._pending: queue.Queue[tuple[str, bytes] | threading.Event | None] = queue.Queue(depth)
        self._thread = threading.Thread(target=self._run, name="hash-" + "-".join(algorithms), daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._pending.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
                continue
            if self._error is not None:
                continue  # keep draining: the feeding thread learns of it at its next call
            key, data = item
            try:
                digests = self.digests.get(key)
                if digests is None:
                    digests = self.digests[key] = {alg: hashlib.new(alg) for alg in self.algorithms}
                for digest in digests.values():
                    digest.update(data)
            except BaseException as exc:  # noqa: BLE001 - handed to the feeding thread
                self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def feed(self, key: str, data: bytes) -> None:
        self._raise_if_failed()
        self._pending.put((key, data))

    def caught_up(self) -> dict[str, dict[str, Any]]:
        """key -> algorithm -> hash object, over everything fed so far."""
        if self._thread.is_alive():
            done = threading.Event()
            self._pending.put(done)
            done.wait()
        self._raise_if_failed()
        return self.digests

    def __enter__(self) -> _HashThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pending.put(None)
        self._thread.join()


class _HashingSink:
    """A write-only, forward-only file for zipfile that hashes what it writes (sha256).

    Without `seek`, zipfile writes each member's sizes and CRC in a data descriptor after the
    member instead of going back to its header: the zip is written in one pass and its sha256
    is known when it is closed."""

    def __init__(self, fh: Any, hasher: _HashThread) -> None:
        self.fh = fh
        self.hasher = hasher
        self.position = 0

    def write(self, data: bytes) -> int:
        if data:
            if not (isinstance(data, memoryview) and isinstance(data.obj, mmap.mmap)):
                data = bytes(data)  # a memoryview over a buffer its owner may reuse: keep a copy
            self.fh.write(data)
            self.hasher.feed("zip", data)
            self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        self.fh.flush()

    def sha256(self) -> Any:
        """The sha256 state over everything written so far (a copy)."""
        return self.hasher.caught_up().get("zip", {"sha256": hashlib.sha256()})["sha256"].copy()


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    sha256: str
    size: int
    seal_manifest: bytes
    payload_bytes: int
    payload_files: int
    files: list[dict[str, Any]]
    """Every file of the bag: path, size, sha256 (for the record's file list)."""
    prefix: Any = None
    """The sha256 state over the zip up to its central directory: the sealed zip's sha256 costs
    only the bytes the seal adds (see `add_seal`)."""
    prefix_size: int = 0


# zipfile computes each member's CRC-32 with zlib's crc32, looked up as a global of its module:
# ~15 ms of every 100 MB sealed, on the thread that copies the payload. zlib-ng computes the
# same value about 8x faster; every zip this process reads or writes gets the same CRCs.
zipfile.crc32 = zlib_ng.crc32

DEFLATE_LEVEL = 1
"""For the record's own files (JSON, the event log): the event log is mostly hashes, which do not
compress; level 1 keeps it within 5% of level 6's size at 2.5x the speed (35 -> 14 ms a 1.7 MB log)."""


def _method(name: str) -> int:
    return zipfile.ZIP_STORED if name.endswith(STORED_SUFFIXES) else zipfile.ZIP_DEFLATED


def _chunks(path: Path) -> Iterator[memoryview]:
    """The file in CHUNK-sized views of a read-only mapping: no copy into the process (reading
    it copied 100 MB a seal, 20 ms of the copying thread). The mapping is unmapped when the
    last view of it (in a hashing thread's queue) is gone."""
    with open(path, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        if not size:
            return
        view = memoryview(mmap.mmap(source.fileno(), size, prot=mmap.PROT_READ))
    for start in range(0, size, CHUNK):
        yield view[start : start + CHUNK]


def build_package(target: Path, content: BagContent, record_id: str, created_at: datetime) -> BuiltPackage:
    """Write the bag as the zip `target` and return it with its seal manifest."""
    payload = sorted({*content.files, *content.blobs})
    sizes = {p: len(content.files[p]) if p in content.files else content.blobs[p].stat().st_size for p in payload}
    info = dict(content.bag_info)
    info["Bagging-Date"] = created_at.date().isoformat()
    info["Payload-Oxum"] = f"{sum(sizes.values())}.{len(payload)}"
    tags: dict[str, bytes] = {"bagit.txt": BAGIT_TXT.encode(), "bag-info.txt": _bag_info_text(info).encode()}
    target.parent.mkdir(parents=True, exist_ok=True)
    # One pass over the payload: each chunk is written into the zip (CRC; the zip's sha256 on a
    # thread of its own) and handed to a hashing thread for the manifests, files (the record's
    # JSON too) taking turns between two of them. Reading every file twice cost more.
    with open(target, "wb") as fh, contextlib.ExitStack() as threads:
        payload_hashes = [threads.enter_context(_HashThread(*ALGORITHMS)) for _ in range(2)]
        sink = _HashingSink(fh, threads.enter_context(_HashThread("sha256")))
        with zipfile.ZipFile(sink, "w", allowZip64=True,  # type: ignore[arg-type]
                             compresslevel=DEFLATE_LEVEL) as archive:
            for name, data in tags.items():
                archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
            turns = itertools.cycle(payload_hashes)
            for path in payload:
                hashing = next(turns)
                if path in content.files:
                    hashing.feed(path, content.files[path])
                    archive.writestr(path, content.files[path], compress_type=_method(path))
                    continue
                member = zipfile.ZipInfo.from_file(content.blobs[path], path)
                member.compress_type = _method(path)
                with archive.open(member, "w") as dest:
                    hashing.feed(path, b"")  # an empty file has digests too
                    for chunk in _chunks(content.blobs[path]):
                        dest.write(chunk)
                        hashing.feed(path, chunk)
            found = {path: hashed for h in payload_hashes for path, hashed in h.caught_up().items()}
            digests = {p: {alg: found[p][alg].hexdigest() for alg in ALGORITHMS} for p in payload}
            for alg in ALGORITHMS:
                tags[f"manifest-{alg}.txt"] = _manifest_lines(digests, alg).encode()
            tags[CHAIN_HEAD_FILE] = f"{content.chain_head} {content.chain_length}\n".encode()
            tag_digests = {name: _hash_bytes(data) for name, data in tags.items()}
            for alg in ALGORITHMS:
                tags[f"tagmanifest-{alg}.txt"] = _manifest_lines(tag_digests, alg).encode()
            for name in (*(f"manifest-{alg}.txt" for alg in ALGORITHMS), CHAIN_HEAD_FILE, *TAG_MANIFESTS):
                archive.writestr(name, tags[name], compress_type=zipfile.ZIP_DEFLATED)
            prefix, prefix_size = sink.sha256(), sink.position  # the central directory comes next
        size = sink.position
        zip_sha256 = sink.sha256().hexdigest()
    # The bag's last save is done: the seal manifest names both tag manifests (they do not list each other).
    named = {name: _hash_bytes(tags[name]) for name in TAG_MANIFESTS}
    seal_manifest = json.dumps({
        "format": SEAL_FORMAT,
        "record_id": record_id,
        "congress_id": content.bag_info.get("Congress-Id", ""),
        "organisation": content.bag_info.get("Source-Organization", ""),
        "chain_head": content.chain_head,
        "events": content.chain_length,
        "tag_manifests": named,
        "created_at": created_at.isoformat(),
    }, ensure_ascii=False, sort_keys=True, indent=1).encode()
    files = [{"path": p, "size": sizes[p], "sha256": digests[p]["sha256"]} for p in payload]
    files += [{"path": n, "size": len(tags[n]), "sha256": d["sha256"]} for n, d in {**tag_digests, **named}.items()]
    return BuiltPackage(target, zip_sha256, size, seal_manifest, sum(sizes.values()), len(payload), files,
                        prefix, prefix_size)


def _hash_bytes(data: bytes) -> dict[str, str]:
    return {alg: hashlib.new(alg, data).hexdigest() for alg in ALGORITHMS}


def add_seal(package: Path, seal_manifest: bytes, signature: bytes, timestamp: bytes | None,
             prefix: Any = None, prefix_size: int = 0) -> str:
    """Seal the package in place: the seal files (outside every manifest) are appended to the zip,
    which rewrites only its central directory. Returns the sealed zip's sha256: from `prefix`
    (the sha256 state over the bytes before the central directory) when given, else read whole."""
    with zipfile.ZipFile(package, "a", allowZip64=True) as archive:
        if prefix is not None and archive.start_dir != prefix_size:
            prefix = None  # not the zip that state was taken over
        archive.writestr(SEAL_MANIFEST_FILE, seal_manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(SEAL_SIGNATURE_FILE, signature, compress_type=zipfile.ZIP_STORED)
        if timestamp:
            archive.writestr(SEAL_TIMESTAMP_FILE, timestamp, compress_type=zipfile.ZIP_STORED)
    if prefix is None:
        return sha256_file(package)
    digest = prefix.copy()
    with open(package, "rb") as fh:
        fh.seek(prefix_size)
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
