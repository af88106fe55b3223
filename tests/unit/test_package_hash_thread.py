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
