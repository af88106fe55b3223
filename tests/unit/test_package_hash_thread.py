"""The sealing's hashing threads (documents/archive/package.py): digests equal hashlib's over
the same pieces, and a failure on the hashing thread reaches the thread that feeds it instead
of leaving it waiting for ever."""

from __future__ import annotations

import hashlib

import pytest

from documents.archive.package import _HashThread


def test_digests_per_key_equal_hashlib_over_the_same_pieces() -> None:
    pieces = [("a", "Đại hội ".encode()), ("a", "Phụ nữ".encode()), ("b", b""), ("c", b"x" * 100_000)]
    with _HashThread("sha256", "sha512") as thread:
        for key, piece in pieces:
            thread.feed(key, piece)
        digests = thread.caught_up()
    for key, content in [("a", "Đại hội Phụ nữ".encode()), ("b", b""), ("c", b"x" * 100_000)]:
        assert digests[key]["sha256"].hexdigest() == hashlib.sha256(content).hexdigest()
        assert digests[key]["sha512"].hexdigest() == hashlib.sha512(content).hexdigest()


def test_a_failure_on_the_hashing_thread_is_raised_to_the_feeding_thread() -> None:
    with _HashThread("sha256") as thread:
        thread.feed("zip", "not bytes")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            thread.caught_up()
        with pytest.raises(TypeError):
            thread.feed("zip", b"next piece")


def test_blobs_of_every_size_go_into_the_zip_and_the_manifests_byte_exact(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Blobs are copied from read-only mappings in CHUNK-sized views: an empty one, one that ends
    exactly on a chunk and one that does not all arrive whole, with the digests of their bytes."""
    import os
    import zipfile

    from archive_verify import verify_package
    from documents.archive.package import CHUNK, BagContent
    from tests.support.archive import make_ca, sealed_package

    blobs = {"data/documents/empty.pdf": b"", "data/documents/two-chunks.pdf": os.urandom(2 * CHUNK),
             "data/documents/odd.pdf": os.urandom(CHUNK + 12_345)}
    content = BagContent()
    for path, data in blobs.items():
        (tmp_path / path.rsplit("/", 1)[1]).write_bytes(data)
        content.blobs[path] = tmp_path / path.rsplit("/", 1)[1]
    content.files["data/events.jsonl"] = b""
    content.chain_head = "0" * 64
    ca = make_ca()
    (tmp_path / "out").mkdir()
    package = sealed_package(tmp_path / "out", ca, content)
    with zipfile.ZipFile(package) as archive:
        assert archive.testzip() is None  # every member's CRC-32 checks out
        manifest = archive.read("manifest-sha512.txt").decode()
        for path, data in blobs.items():
            assert archive.read(path) == data
            assert f"{hashlib.sha512(data).hexdigest()}  {path}" in manifest
    report = verify_package(package, ca.pem)
    assert report.intact, report.problems
