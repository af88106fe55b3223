"""Verify a sealed record: every file's hashes, the BagIt structure, the event chain and its
head, the seal over the tag manifests (and its timestamp). Names exactly what is wrong.

Hashing reads each file once and feeds sha256 and sha512 together, several files at a time
(hashlib releases the GIL), straight from the zip: nothing is extracted to disk, and stored
members (the documents) are read as the bytes they are, without a redundant CRC-32.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from cryptography import x509

from archive_verify import cms
from archive_verify.package import (
    ALGORITHMS,
    CHAIN_HEAD_FILE,
    EVENTS_FILE,
    GENESIS,
    MANIFESTS,
    REQUIRED_TAG_FILES,
    SEAL_FORMAT,
    SEAL_MANIFEST_FILE,
    SEAL_SIGNATURE_FILE,
    SEAL_TIMESTAMP_FILE,
    TAG_MANIFESTS,
    chain_hash,
    parse_bag_info,
    parse_manifest,
)

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    code: str
    """file_changed, file_missing, file_unlisted, bag_invalid, chain_broken, chain_head_mismatch,
    seal_missing, seal_invalid, seal_untrusted, seal_manifest_mismatch, timestamp_invalid, unsafe_path"""
    path: str
    detail: str


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    files_checked: int = 0
    bytes_checked: int = 0
    events: int = 0
    chain_head: str = ""
    record: dict = field(default_factory=dict)
    seal_signer: str = ""
    sealed_at: str | None = None
    timestamp_at: str | None = None

    @property
    def intact(self) -> bool:
        return not self.problems

    def add(self, code: str, path: str, detail: str) -> None:
        self.problems.append(Problem(code, path, detail))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["intact"] = self.intact
        return data


class Source:
    """The package's files, from a zip or an extracted directory."""

    def __init__(self, location: Path) -> None:
        self.location = Path(location)
        self.is_zip = self.location.is_file()
        if self.is_zip:
            with zipfile.ZipFile(self.location) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()]
            self.infos = {i.filename: i for i in infos}
            self.sizes = {i.filename: i.file_size for i in infos}
        else:
            self.sizes = {
                p.relative_to(self.location).as_posix(): p.stat().st_size
                for p in self.location.rglob("*") if p.is_file()
            }

    def names(self) -> list[str]:
        return list(self.sizes)

    def read(self, name: str) -> bytes:
        """A small file's bytes; a damaged member reads as its raw bytes (its hash will not match)."""
        if self.is_zip:
            with zipfile.ZipFile(self.location) as archive:
                try:
                    return archive.read(name)
                except (zipfile.BadZipFile, zlib.error):
                    info = archive.getinfo(name)
                    with archive.open(info) as fh:
                        fh._expected_crc = None  # noqa: SLF001 - read it anyway; the manifests judge it
                        return fh.read()
        return (self.location / name).read_bytes()

    def hashes(self, name: str) -> dict[str, str]:
        hashers = {alg: hashlib.new(alg) for alg in ALGORITHMS}
        info = self.infos.get(name) if self.is_zip else None
        if info is not None and info.compress_type == zipfile.ZIP_STORED:
            # A stored member is its bytes as they lie in the zip: read them straight from the
            # file. Its CRC-32 is not computed: sha256 and sha512 judge those same bytes.
            self._hash_stored(info, hashers)
        elif self.is_zip:
            with zipfile.ZipFile(self.location) as archive, archive.open(name) as fh:
                self._feed(fh, hashers)
        else:
            with open(self.location / name, "rb") as fh:
                self._feed(fh, hashers)
        return {alg: h.hexdigest() for alg, h in hashers.items()}

    def _hash_stored(self, info: zipfile.ZipInfo, hashers: dict) -> None:  # type: ignore[type-arg]
        with open(self.location, "rb") as fh:
            fh.seek(info.header_offset)
            header = fh.read(zipfile.sizeFileHeader)
            if len(header) != zipfile.sizeFileHeader or header[:4] != zipfile.stringFileHeader:
                raise zipfile.BadZipFile(f"bad local header for {info.filename}")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            fh.seek(name_length + extra_length, os.SEEK_CUR)
            remaining = info.compress_size
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk:
                    raise EOFError(f"{info.filename} is cut short")
                remaining -= len(chunk)
                for h in hashers.values():
                    h.update(chunk)

    def safe_hashes(self, name: str) -> dict[str, str] | None:
        try:
            return self.hashes(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
            return None

    @staticmethod
    def _feed(fh, hashers) -> None:  # type: ignore[no-untyped-def]
        while chunk := fh.read(CHUNK):
            for h in hashers.values():
                h.update(chunk)


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in name


def load_cas(pem: bytes | Iterable[bytes]) -> list[x509.Certificate]:
    blobs = [pem] if isinstance(pem, bytes) else list(pem)
    return [cert for blob in blobs for cert in x509.load_pem_x509_certificates(blob)]


def verify_package(location: Path | str, ca_pem: bytes | Iterable[bytes], workers: int | None = None) -> Report:
    """Check the package (zip or directory) against the trusted CA certificate(s) in PEM."""
    report = Report()
    try:
        source = Source(Path(location))
    except (zipfile.BadZipFile, OSError) as exc:
        report.add("bag_invalid", "", f"not a readable package: {exc}")
        return report
    for name in source.names():
        if not _safe(name):
            report.add("unsafe_path", name, "a file name points outside the package")
    if report.problems:
        return report
    present = set(source.names())
    for name in REQUIRED_TAG_FILES:
        if name not in present:
            report.add("file_missing", name, "a required BagIt file is missing")
    if report.problems:
        return report

    manifests = {alg: parse_manifest(source.read(f"manifest-{alg}.txt").decode("utf-8")) for alg in ALGORITHMS}
    tag_manifests = {alg: parse_manifest(source.read(f"tagmanifest-{alg}.txt").decode("utf-8"))
                     for alg in ALGORITHMS if f"tagmanifest-{alg}.txt" in present}
    for alg in ALGORITHMS:
        if alg not in tag_manifests:
            report.add("file_missing", f"tagmanifest-{alg}.txt", "a tag manifest is missing")
    payload = {n for n in present if n.startswith("data/")}
    for alg, listed in manifests.items():
        for name in sorted(payload - listed.keys()):
            report.add("file_unlisted", name, f"a payload file is not in manifest-{alg}.txt")
        for name in sorted(listed.keys() - payload):
            report.add("file_missing", name, f"listed in manifest-{alg}.txt but not in the package")
    for alg, listed in tag_manifests.items():
        for name in sorted(listed.keys() - present):
            report.add("file_missing", name, f"listed in tagmanifest-{alg}.txt but not in the package")
    for name in REQUIRED_TAG_FILES:
        for alg, listed in tag_manifests.items():
            if name not in listed:
                report.add("file_unlisted", name, f"a tag file is not in tagmanifest-{alg}.txt")

    expected: dict[str, dict[str, str]] = {}
    for alg, listed in [*manifests.items(), *tag_manifests.items()]:
        for name, digest in listed.items():
            if name in present:
                expected.setdefault(name, {})[alg] = digest
    to_hash = sorted(expected, key=lambda n: -source.sizes[n])
    with ThreadPoolExecutor(workers or max(2, min(8, os.cpu_count() or 2))) as pool:
        for name, actual in zip(to_hash, pool.map(source.safe_hashes, to_hash), strict=True):
            report.files_checked += 1
            report.bytes_checked += source.sizes[name]
            if actual is None:
                report.add("file_changed", name, "its bytes cannot be read back intact (zip check failed)")
                continue
            for alg, digest in expected[name].items():
                if actual[alg] != digest:
                    report.add("file_changed", name, f"its {alg} is not the one in the manifest")

    info = parse_bag_info(source.read("bag-info.txt").decode("utf-8"))
    oxum = info.get("Payload-Oxum", "")
    actual_oxum = f"{sum(source.sizes[n] for n in payload)}.{len(payload)}"
    if oxum and oxum != actual_oxum:
        report.add("bag_invalid", "bag-info.txt", f"Payload-Oxum is {oxum}, the payload is {actual_oxum}")

    _check_chain(source, present, info, report)
    _check_seal(source, present, load_cas(ca_pem), report)
    if "data/record.json" in present:
        try:
            report.record = json.loads(source.read("data/record.json"))
        except ValueError:
            report.add("bag_invalid", "data/record.json", "not valid JSON")
    return report


def _check_chain(source: Source, present: set[str], info: dict[str, str], report: Report) -> None:
    head_text = source.read(CHAIN_HEAD_FILE).decode("utf-8").split()
    head = head_text[0] if head_text else ""
    declared_length = int(head_text[1]) if len(head_text) > 1 and head_text[1].isdigit() else None
    if EVENTS_FILE not in present:
        report.add("file_missing", EVENTS_FILE, "the event history is missing")
        return
    prev = GENESIS
    count = 0
    for number, line in enumerate(source.read(EVENTS_FILE).decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        try:
            entry = json.loads(line)
            payload, entry_prev, entry_hash = entry["payload"], entry["prev_hash"], entry["hash"]
        except (ValueError, KeyError, TypeError):
            report.add("chain_broken", EVENTS_FILE, f"event {number}: the line is not a chain entry")
            prev = ""
            continue
        if entry_prev != prev:
            report.add("chain_broken", EVENTS_FILE,
                       f"event {number} ({entry.get('subject', '?')}): its prev_hash is not the hash of the event "
                       f"before it (an event is missing, added or moved)")
        if chain_hash(entry_prev, payload) != entry_hash:
            report.add("chain_broken", EVENTS_FILE,
                       f"event {number} ({entry.get('subject', '?')}): its hash does not match its content")
        prev = entry_hash
    report.events = count
    report.chain_head = prev
    if prev != head:
        report.add("chain_head_mismatch", CHAIN_HEAD_FILE, "the last event's hash is not the recorded chain head")
    if declared_length is not None and declared_length != count:
        report.add("chain_head_mismatch", CHAIN_HEAD_FILE, f"the chain head names {declared_length} events, "
                                                           f"the history has {count}")
    if info.get("Event-Count") and info["Event-Count"] != str(count):
        report.add("bag_invalid", "bag-info.txt", f"Event-Count is {info['Event-Count']}, the history has {count}")


def _check_seal(source: Source, present: set[str], anchors: list[x509.Certificate], report: Report) -> None:
    for name in (SEAL_MANIFEST_FILE, SEAL_SIGNATURE_FILE):
        if name not in present:
            report.add("seal_missing", name, "the package is not sealed")
            return
    manifest_bytes = source.read(SEAL_MANIFEST_FILE)
    try:
        manifest = json.loads(manifest_bytes)
        named = manifest["tag_manifests"]
        if manifest.get("format") != SEAL_FORMAT:
            raise ValueError(manifest.get("format"))
    except (ValueError, KeyError, TypeError):
        report.add("seal_invalid", SEAL_MANIFEST_FILE, "the seal manifest cannot be read")
        return
    for name in TAG_MANIFESTS:
        if name not in present:
            continue
        data = source.read(name)
        for alg in ALGORITHMS:
            if named.get(name, {}).get(alg) != hashlib.new(alg, data).hexdigest():
                report.add("seal_manifest_mismatch", name, f"its {alg} is not the one the seal names")
    head = source.read(CHAIN_HEAD_FILE).decode("utf-8").split()
    if head and manifest.get("chain_head") != head[0]:
        report.add("seal_manifest_mismatch", CHAIN_HEAD_FILE, "the chain head is not the one the seal names")
    timestamp = source.read(SEAL_TIMESTAMP_FILE) if SEAL_TIMESTAMP_FILE in present else None
    checked = cms.check_detached(source.read(SEAL_SIGNATURE_FILE), manifest_bytes, anchors, timestamp)
    for problem in checked.problems:
        if problem.startswith("timestamp"):
            report.add("timestamp_invalid", SEAL_TIMESTAMP_FILE, problem)
        elif "trusted CA" in problem:
            report.add("seal_untrusted", SEAL_SIGNATURE_FILE, problem)
        else:
            report.add("seal_invalid", SEAL_SIGNATURE_FILE, problem)
    report.seal_signer = checked.signer
    report.sealed_at = checked.signed_at.isoformat() if checked.signed_at else None
    report.timestamp_at = checked.timestamp_at.isoformat() if checked.timestamp_at else None


__all__ = ["MANIFESTS", "Problem", "Report", "Source", "load_cas", "verify_package"]
