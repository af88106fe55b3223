"""Tables of the congress service and its Database (own database, own outbox and inbox)."""

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, LargeBinary, String, Table, Text, false

from runtime.db import Database, UTCDateTime, new_metadata, reliability_tables

metadata = new_metadata()
outbox, inbox = reliability_tables(metadata)

# -- staff identity (issue 4) -------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(100), nullable=False, unique=True),  # stored lowercased
    Column("full_name", String(200), nullable=False),
    Column("email", String(254), nullable=False, default=""),
    Column("organisation", String(200), nullable=False, default=""),
    Column("roles", JSON, nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("password_changed_at", UTCDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),  # the `sid` claim
    Column("user_id", String(36), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("authenticated_at", UTCDateTime, nullable=False),  # the `auth_time` claim; step-up moves it
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("refresh_hash", String(64), nullable=False, unique=True),  # sha256 hex of the refresh cookie
    Column("ip", String(64), nullable=False, default=""),
    Column("user_agent", String(300), nullable=False, default=""),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_key_encrypted", LargeBinary, nullable=False),  # Fernet token of the PKCS#8 PEM
    Column("public_pem", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(36), primary_key=True),  # the AuditRecorded event id
    Column("at", UTCDateTime, nullable=False),
    Column("service", String(20), nullable=False),
    Column("actor_id", String(36), nullable=True),
    Column("actor_username", String(100), nullable=False, default=""),
    Column("action", String(100), nullable=False),
    Column("target", String(300), nullable=False, default=""),
    Column("congress_id", String(36), nullable=True),
    Column("ip", String(64), nullable=False, default=""),
    Column("user_agent", String(300), nullable=False, default=""),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_log_at", "at", "id"),
    Index("ix_audit_log_actor", "actor_username", "at"),
    Index("ix_audit_log_congress", "congress_id", "at"),
)

congress_staff = Table(
    "congress_staff",
    metadata,
    Column("congress_id", String(36), primary_key=True),
    Column("user_id", String(36), primary_key=True, index=True),
    Column("added_by", String(36), nullable=True),
    Column("added_at", UTCDateTime, nullable=False),
)


# -- congresses, agenda, roster, publications (issue 6) ------------------------------------

congresses = Table(
    "congresses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("organisation", String(300), nullable=False, default=""),
    Column("unit", String(300), nullable=False, default=""),
    Column("venue", String(300), nullable=False, default=""),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("quorum", Float, nullable=False),
    Column("state", String(10), nullable=False),  # draft | open | closed
    Column("created_by", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Index("ix_congresses_created", "created_at", "id"),
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

delegates = Table(
    "delegates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("name_key", String(400), nullable=False),  # casefolded name + unit: duplicate detection
    Column("unit", String(300), nullable=False, default=""),
    Column("phone", String(20), nullable=False, default=""),  # normalised 0xxxxxxxxx; never in events
    Column("email", String(254), nullable=False, default=""),  # never in events
    Column("delegate_type", String(100), nullable=False, default=""),
    Column("secrets_generation", Integer, nullable=False, default=1),
    Column("checkin_hash", String(64), nullable=False, unique=True),  # sha256 hex of the check-in code
    Column("link_hash", String(64), nullable=False, unique=True),  # sha256 hex of the personal-link token
    Column("checked_in_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_delegates_congress", "congress_id", "full_name", "id"),
)

document_versions = Table(
    "document_versions",
    metadata,
    # What the documents service told us: uploads (agenda item, content type) and approvals.
    Column("document_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("congress_id", String(36), nullable=True, index=True),
    Column("sha256", String(64), nullable=False),
    Column("title", String(500), nullable=False, default=""),
    Column("kind", String(20), nullable=False, default="report"),
    Column("pages", Integer, nullable=False, default=0),
    Column("size", Integer, nullable=False, default=0),
    Column("content_type", String(100), nullable=False, default="application/pdf"),
    Column("agenda_item_id", String(36), nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
)

signatures = Table(
    "signatures",
    metadata,
    # One row per signature the signing service reported; the page shows the newest one
    # whose signed bytes are the published bytes.
    Column("verification_code", String(100), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("document_id", String(36), nullable=False),
    Column("signed_sha256", String(64), nullable=False, index=True),
    Column("signer_full_name", String(200), nullable=False, default=""),
    Column("signed_at", UTCDateTime, nullable=False),
    Column("completed", Boolean, nullable=False, default=False),
)

publications = Table(
    "publications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token", String(64), nullable=False, unique=True),
    Column("congress_id", String(36), nullable=False),
    Column("document_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("title", String(500), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False, default=0),
    Column("agenda_item_id", String(36), nullable=True),
    Column("audience", String(10), nullable=False),  # public | delegates
    Column("state", String(10), nullable=False),  # active | revoked
    Column("published_by", String(36), nullable=True),
    Column("published_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("views", Integer, nullable=False, default=0),
    Column("unique_delegates", Integer, nullable=False, default=0),
    Index("ix_publications_congress", "congress_id", "published_at", "id"),
)

publication_viewers = Table(
    "publication_viewers",
    metadata,
    Column("publication_id", String(36), primary_key=True),
    Column("delegate_id", String(36), primary_key=True),
    Column("first_viewed_at", UTCDateTime, nullable=False),
)


def make_database(url: str) -> Database:
    return Database(url, outbox, inbox)


# -- check-in, attendance, closing (issue 8) -----------------------------------------------

checkins = Table(
    "checkins",
    metadata,
    # One row per present delegate: the primary key makes a second check-in impossible, so
    # concurrent scans of one badge insert once (INSERT … ON CONFLICT DO NOTHING) on both engines.
    Column("delegate_id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=False),
    Column("checked_in_at", UTCDateTime, nullable=False),
    Column("checked_in_by", String(36), nullable=True),
    Column("method", String(10), nullable=False),  # badge | desk | api
    Index("ix_checkins_congress", "congress_id", "checked_in_at"),
)

delegate_directory = Table(
    "delegate_directory",
    metadata,
    # The desk's search column: the name folded (no diacritics, đ → d, lower case), fed by the
    # service's own DelegateRegistered/Updated/Removed events, so the roster code stays untouched.
    Column("delegate_id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=False),
    Column("search_name", String(400), nullable=False),
    # a removed delegate's entry stays as a tombstone, so a late registration cannot bring it back
    # (runtime/projection.py: replicas of the desk consumer apply the events in any order)
    Column("removed", Boolean, nullable=False, default=False, server_default=false()),
    Column("source_seq", BigInteger, nullable=True),
    Index("ix_delegate_directory_search", "congress_id", "search_name"),
)

signature_requests = Table(
    "signature_requests",
    metadata,
    # What the signing service announced: a congress closes only when none of its requests is open.
    Column("request_id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=True, index=True),
    Column("document_id", String(36), nullable=False),
    Column("version", Integer, nullable=True),
    Column("title", String(500), nullable=False, default=""),
    Column("requested_by", String(100), nullable=False, default=""),
    Column("state", String(10), nullable=False),  # open | completed | rejected | cancelled
    Column("updated_at", UTCDateTime, nullable=False),
    Column("source_seq", BigInteger, nullable=True),  # the newest event applied (runtime/projection.py)
)
