"""Writing a record as a BagIt bag (RFC 8493) with sha256 and sha512 manifests, then as a zip.

The bag is written here rather than with `bagit.make_bag`/`Bag.save`: those change the
process-wide working directory while they run (unsafe in a service with threads) and hash the
payload one file at a time; here each file is read once for both algorithms, several files at
a time. The result is an ordinary bag: the tests validate it with the `bagit` library.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

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


def hash_file(path: Path) -> dict[str, str]:
    hashers = {alg: hashlib.new(alg) for alg in ALGORITHMS}
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {alg: h.hexdigest() for alg, h in hashers.items()}


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # the blob cache is immutable: a hard link costs nothing
    except OSError:
        shutil.copyfile(source, target)


def _manifest_lines(entries: dict[str, dict[str, str]], alg: str) -> str:
    return "".join(f"{digests[alg]}  {path}\n" for path, digests in sorted(entries.items()))


def _bag_info_text(info: dict[str, str]) -> str:
    lines = []
    for key, value in info.items():
        value = " ".join(str(value).split())  # one line per tag; no line breaks inside a value
        lines.append(f"{key}: {value}\n")
    return "".join(lines)


@dataclass(frozen=True)
class BuiltBag:
    directory: Path
    seal_manifest: bytes
    payload_bytes: int
    payload_files: int
    files: list[dict[str, Any]]
    """Every file of the bag: path, size, sha256 (for the record's file list)."""


def build_bag(directory: Path, content: BagContent, record_id: str, created_at: datetime, workers: int = 4) -> BuiltBag:
    """Write the bag into `directory` (which must not exist) and return it with its seal manifest."""
    directory.mkdir(parents=True)
    for path, data in content.files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for path, source in content.blobs.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(source, target)
    payload = sorted({*content.files, *content.blobs})
    with ThreadPoolExecutor(workers) as pool:
        digests = dict(zip(payload, pool.map(lambda p: hash_file(directory / p), payload), strict=True))
    sizes = {p: (directory / p).stat().st_size for p in payload}
    for alg in ALGORITHMS:
        (directory / f"manifest-{alg}.txt").write_text(_manifest_lines(digests, alg), encoding="utf-8")
    (directory / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    info = dict(content.bag_info)
    info["Bagging-Date"] = created_at.date().isoformat()
    info["Payload-Oxum"] = f"{sum(sizes.values())}.{len(payload)}"
    (directory / "bag-info.txt").write_text(_bag_info_text(info), encoding="utf-8")
    (directory / CHAIN_HEAD_FILE).write_text(f"{content.chain_head} {content.chain_length}\n", encoding="utf-8")
    tag_files = ["bagit.txt", "bag-info.txt", *(f"manifest-{alg}.txt" for alg in ALGORITHMS), CHAIN_HEAD_FILE]
    tag_digests = {name: hash_file(directory / name) for name in tag_files}
    for alg in ALGORITHMS:
        (directory / f"tagmanifest-{alg}.txt").write_text(_manifest_lines(tag_digests, alg), encoding="utf-8")
    # The bag's last save is done: the seal manifest names both tag manifests (they do not list each other).
    named = {name: hash_file(directory / name) for name in TAG_MANIFESTS}
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
    files += [{"path": n, "size": (directory / n).stat().st_size, "sha256": d["sha256"]}
              for n, d in {**tag_digests, **named}.items()]
    return BuiltBag(directory, seal_manifest, sum(sizes.values()), len(payload), files)


def write_zip(bag: Path, target: Path) -> None:
    """Zip the bag (its root at the zip's root); media stored, text deflated."""
    names = sorted(p.relative_to(bag).as_posix() for p in bag.rglob("*") if p.is_file())
    first = [n for n in ("bagit.txt", "bag-info.txt") if n in names]
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for name in first + [n for n in names if n not in first]:
            method = zipfile.ZIP_STORED if name.endswith(STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
            archive.write(bag / name, name, compress_type=method)


def add_seal(unsealed_zip: Path, target: Path, seal_manifest: bytes, signature: bytes, timestamp: bytes | None) -> None:
    """The sealed package: the unsealed zip plus the seal files (outside every manifest)."""
    shutil.copyfile(unsealed_zip, target)
    with zipfile.ZipFile(target, "a", allowZip64=True) as archive:
        archive.writestr(SEAL_MANIFEST_FILE, seal_manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(SEAL_SIGNATURE_FILE, signature, compress_type=zipfile.ZIP_STORED)
        if timestamp:
            archive.writestr(SEAL_TIMESTAMP_FILE, timestamp, compress_type=zipfile.ZIP_STORED)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
