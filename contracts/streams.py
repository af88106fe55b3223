"""JetStream streams, the dead-letter stream, the blob Object Store and the KV buckets.

One stream per producing service (`<service>.>`), file storage, keep everything (limits
retention with no age or size limit: read models and the archive can be replayed from the
start). Growth is roughly 1 KB per event; a 500-delegate congress produces ~5,000 events.
"""

from __future__ import annotations

from dataclasses import dataclass

DUPLICATE_WINDOW_SECONDS = 15 * 60
"""Publishes with the same Nats-Msg-Id inside this window are stored once.

The outbox relay republishes a row only after a crash between publish and mark-sent, so the
window covers any restart that takes less than 15 minutes; consumers' inboxes cover the rest.
"""


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    description: str


SERVICE_STREAMS: dict[str, StreamSpec] = {
    "congress": StreamSpec("CONGRESS", ("congress.>",), "Events of the congress service"),
    "documents": StreamSpec("DOCUMENTS", ("documents.>",), "Events of the documents service"),
    "signing": StreamSpec("SIGNING", ("signing.>",), "Events of the signing service"),
}

DEAD_LETTER = StreamSpec(
    "DEADLETTER", ("deadletter.>",), "Messages a consumer gave up on: deadletter.<service>.<durable>"
)

BLOB_BUCKET = "blobs"
"""Object Store bucket: content-addressed bytes, object name = sha256 hex."""

SHARED_KV_BUCKET = "shared"
"""KV bucket for small shared facts: auth public keys, revoked sessions."""

RATE_LIMIT_KV_BUCKET = "ratelimits"
"""KV bucket for rate-limit counters, entries expire after an hour."""


def dead_letter_subject(service: str, durable: str) -> str:
    return f"deadletter.{service}.{durable}"


def stream_for_subject(subject: str) -> StreamSpec:
    producer = subject.split(".", 1)[0]
    if producer == "deadletter":
        return DEAD_LETTER
    return SERVICE_STREAMS[producer]
