"""Tables of the documents service and its Database (own database, own outbox and inbox).

Besides its own documents and versions, the service keeps copies of the congress facts it
renders and checks against (congresses, agenda, delegates, check-ins, publications) and of
the signing workflow (requests, signatures), all built from the events it consumes. Those
copies keep `source_seq` (and `removed` tombstones) so that they end the same whatever order
replicas apply the events in (runtime/projection.py).
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from runtime.access import AccessTables
from runtime.db import Database, UTCDateTime, new_metadata, reliability_tables

metadata = new_metadata()
outbox, inbox = reliability_tables(metadata)
access = AccessTables(metadata)

documents = Table(
    "documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=False, index=True),
    Column("title", String(500), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("agenda_item_id", String(36), nullable=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

versions = Table(
    "document_versions",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("text", Text, nullable=True),
    Column("status", String(20), nullable=False),
    Column("approved_via", String(20), nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("signed", Boolean, nullable=False, default=False),
    Column("request_id", String(36), nullable=True),
    Column("source_version", Integer, nullable=True),
    Column("created_by", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["document_id"], ["documents.id"]),
)

signing_requests = Table(
    "signing_requests",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("document_id", String(36), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # open | completed | rejected | cancelled
    Column("final_sha256", String(64), nullable=True),
    Column("imported_version", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("source_seq", BigInteger, nullable=True),
    Index("ix_signing_requests_to_import", "status", "imported_version"),
)

signatures = Table(
    "signatures",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("signer", String(100), primary_key=True),
    Column("document_id", String(36), nullable=False, index=True),
    Column("signer_full_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("verification_code", String(100), nullable=False),
    Column("signed_sha256", String(64), nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
)

congresses = Table(
    "congresses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(500), nullable=False),
    Column("organisation", String(300), nullable=False),
    Column("unit", String(300), nullable=False),
    Column("venue", String(300), nullable=False),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("quorum", Float, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("source_seq", BigInteger, nullable=True),
)

agenda_items = Table(
    "agenda_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("description", Text, nullable=False, default=""),
)

agendas = Table(
    "agendas",
    metadata,
    Column("congress_id", String(36), primary_key=True),
    Column("source_seq", BigInteger, nullable=True),
)
"""The position of the agenda event a congress's `agenda_items` come from: the agenda is replaced
as a whole, so it has one position even when it holds no item."""

delegates = Table(
    "delegates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=False, index=True),
    Column("full_name", String(200), nullable=False),
    Column("unit", String(300), nullable=False),
    Column("delegate_type", String(100), nullable=False),
    Column("removed", Boolean, nullable=False, default=False),
    Column("registered_at", UTCDateTime, nullable=False),
    Column("source_seq", BigInteger, nullable=True),
)

checkins = Table(
    "checkins",
    metadata,
    Column("delegate_id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=False, index=True),
    Column("checked_in_at", UTCDateTime, nullable=False),
    # an undone check-in (or a removed delegate's) stays as a tombstone: readers skip `removed`
    Column("removed", Boolean, nullable=False, default=False, server_default=false()),
    Column("source_seq", BigInteger, nullable=True),
)

publications = Table(
    "publications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=False, index=True),
    Column("document_id", String(36), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("audience", String(20), nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)


# -- the event log: the service's own copy of every event it consumes (documents/eventlog.py) --

event_log = Table(
    "event_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("congress_id", String(36), nullable=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("stream", String(50), nullable=False),
    Column("stream_seq", BigInteger, nullable=True),
    Column("headers", JSON, nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Index("ix_event_log_congress", "congress_id", "id"),
)
"""`payload` is the canonical JSON the hash covers: hash = sha256(prev_hash + payload)."""

event_log_heads = Table(
    "event_log_heads",
    metadata,
    Column("chain", String(36), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("length", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""The head of each chain: one per congress (`chain` = congress id) and one for the events that
belong to no congress (`chain` = ""). Appending locks this row, so concurrent consumers (three
streams, several replicas) never fork a chain."""



# -- the archive (documents/archive/): sealed records, trusted CAs, the search index --------

archive_records = Table(
    "archive_records",
    metadata,
    Column("congress_id", String(36), primary_key=True),
    Column("record_id", String(36), nullable=False, unique=True),
    Column("origin", String(20), nullable=False),  # local | imported
    Column("state", String(20), nullable=False),  # waiting | sealing | sealed | failed
    Column("close_event_id", String(36), nullable=True),
    Column("close_stream_seq", BigInteger, nullable=True),
    # {stream: last sequence when the close arrived}: consumers must pass these before assembly
    Column("wait_targets", JSON, nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("title", String(500), nullable=False, default=""),
    Column("organisation", String(300), nullable=False, default=""),
    Column("unit", String(300), nullable=False, default=""),
    Column("year", Integer, nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("counts", JSON, nullable=True),
    Column("files", JSON, nullable=True),
    Column("chain_head", String(64), nullable=True),
    Column("chain_length", BigInteger, nullable=True),
    # the unsealed zip, kept in the Object Store until the seal comes back (restart-safe)
    Column("bag_sha256", String(64), nullable=True),
    Column("manifest_sha256", String(64), nullable=True),
    Column("seal_sha256", String(64), nullable=True),
    Column("timestamp_sha256", String(64), nullable=True),
    Column("package_sha256", String(64), nullable=True),
    Column("package_size", BigInteger, nullable=True),
    Column("trusted_ca_fingerprint", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sealed_at", UTCDateTime, nullable=True),
    Column("retain_until", UTCDateTime, nullable=True),
    Column("fixity_checked_at", UTCDateTime, nullable=True),
    Column("fixity_intact", Boolean, nullable=True),
    Column("fixity_problems", JSON, nullable=True),
    Index("ix_archive_records_state", "state"),
    Index("ix_archive_records_fixity", "state", "fixity_checked_at"),
)
"""One record per congress (closing twice makes one record). A sealed record is never replaced."""

archive_trusted_cas = Table(
    "archive_trusted_cas",
    metadata,
    Column("fingerprint_sha256", String(64), primary_key=True),
    Column("subject", String(500), nullable=False),
    Column("pem", Text, nullable=False),
    # the installation's own CA (the root of its seals), pinned when the first seal arrives
    Column("own", Boolean, nullable=False, default=False),
    Column("added_by", String(100), nullable=True),
    Column("added_at", UTCDateTime, nullable=False),
)

archive_search = Table(
    "archive_search",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("congress_id", String(36), nullable=False, index=True),
    Column("document_id", String(36), nullable=True),
    Column("kind", String(20), nullable=False),  # congress | report | resolution | minutes | reference | video
    Column("unit", String(300), nullable=False),
    Column("unit_folded", String(300), nullable=False),
    Column("year", Integer, nullable=True),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_archive_search_filters", "year", "kind"),
)
"""The search index's rows (disposable: `python -m documents.cli rebuild-search-index`). The
full-text part is SQLite FTS5 table `archive_fts` (rowid = id) or, on PostgreSQL, the `tsv`
column with a GIN index; both are made by migration 0004 and kept by documents/archive/search.py."""

def make_database(url: str) -> Database:
    return Database(url, outbox, inbox)
