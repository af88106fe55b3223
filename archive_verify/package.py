"""The layout of a sealed congress record (a BagIt bag, RFC 8493, in a zip) and its hash rules.

    bagit.txt, bag-info.txt                  BagIt declaration; organisation, unit, congress, dates, counts
    manifest-sha256.txt, manifest-sha512.txt every payload file (data/...) with its hash
    chain-head.txt                           the head of the event chain: "<sha256 hex> <number of events>"
    tagmanifest-sha256.txt, -sha512.txt      the tag files above with their hashes
    data/README.html                         the record for people (Vietnamese)
    data/*.json, data/events.jsonl           the record for machines; the event history, hash-chained
    data/documents/..., data/certificates/...  the final signed documents and completion certificates
    seal/seal-manifest.json                  names the sha256 and sha512 of both tag manifests
    seal/seal.p7s                            detached CMS signature (DER) of seal-manifest.json
    seal/timestamp.tst                       RFC 3161 token over the signature (when configured)

Tag manifests do not list each other, so the seal manifest names both; the seal files are added
after the bag's last save and are listed in no manifest (a signature cannot cover itself).

Event chain: one JSON object per line of data/events.jsonl with `payload` (the event as
canonical JSON text), `prev_hash` and `hash`, where hash = sha256(prev_hash + payload) over
UTF-8 and the first prev_hash is 64 zeros.
"""

from __future__ import annotations

import hashlib

GENESIS = "0" * 64
ALGORITHMS = ("sha256", "sha512")
MANIFESTS = tuple(f"manifest-{alg}.txt" for alg in ALGORITHMS)
TAG_MANIFESTS = tuple(f"tagmanifest-{alg}.txt" for alg in ALGORITHMS)
CHAIN_HEAD_FILE = "chain-head.txt"
EVENTS_FILE = "data/events.jsonl"
SEAL_MANIFEST_FILE = "seal/seal-manifest.json"
SEAL_SIGNATURE_FILE = "seal/seal.p7s"
SEAL_TIMESTAMP_FILE = "seal/timestamp.tst"
SEAL_FORMAT = "paperless-congress/seal-manifest/1"
REQUIRED_TAG_FILES = ("bagit.txt", "bag-info.txt", *MANIFESTS, CHAIN_HEAD_FILE)


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def parse_manifest(text: str) -> dict[str, str]:
    """`<hash> <path>` lines (RFC 8493 §2.1.3: CR, LF and % in paths are percent-encoded)."""
    entries: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        digest, _, path = line.strip().partition(" ")
        path = path.strip().replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
        entries[path] = digest.lower()
    return entries


def parse_bag_info(text: str) -> dict[str, str]:
    info: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key:
            info[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            info[key] = value.strip()
    return info
