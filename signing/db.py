"""Tables of the signing service and its Database (own database, own outbox and inbox)."""

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from runtime.access import AccessTables
from runtime.db import Database, UTCDateTime, new_metadata, reliability_tables

metadata = new_metadata()
outbox, inbox = reliability_tables(metadata)
access = AccessTables(metadata)

# The organisation's issuing CA: generated at first start or imported. One row, id "org".
ca = Table(
    "ca",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("cert_pem", Text, nullable=False),
    Column("parents_pem", Text, nullable=False, default=""),  # issuer chain of an imported CA
    Column("key_pem", Text, nullable=False),  # PKCS#8, encrypted with the key derived from SECRET_KEY
    Column("imported", Boolean, nullable=False, default=False),
    Column("crl_der", Text, nullable=False, default=""),  # base64 of the current CRL
    Column("crl_number", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
)

# Certificates issued by the CA: people (kind "person") and the organisation seal (kind "seal").
certificates = Table(
    "certificates",
    metadata,
    Column("serial", String(60), primary_key=True),  # decimal
    Column("kind", String(10), nullable=False),
    Column("user_id", String(36), nullable=True),
    Column("username", String(100), nullable=False, default=""),
    Column("subject_name", String(200), nullable=False),
    Column("cert_pem", Text, nullable=False),
    Column("key_pem", Text, nullable=True),  # None when the key lives on a PKCS#11 token
    Column("key_ref", String(300), nullable=True),  # pkcs11:token=...;object=...
    Column("fingerprint_sha256", String(64), nullable=False, unique=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("current", Boolean, nullable=False, default=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_certificates_user", "user_id", "current"),
)

# Documents as the documents service announced them (documents.document.uploaded).
documents_seen = Table(
    "documents_seen",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("congress_id", String(36), nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("title", String(500), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("content_type", String(100), nullable=False),
)

closed_congresses = Table(
    "closed_congresses",
    metadata,
    Column("congress_id", String(36), primary_key=True),
    Column("closed_at", UTCDateTime, nullable=False),
)

requests = Table(
    "signature_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("congress_id", String(36), nullable=True),
    Column("document_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("original_sha256", String(64), nullable=False),
    Column("prepared_sha256", String(64), nullable=False),  # original + signature page + empty fields
    Column("current_sha256", String(64), nullable=False),  # the latest revision: what the next signer signs
    Column("state", String(12), nullable=False),  # open | completed | rejected | cancelled
    Column("requested_by", String(36), nullable=False),
    Column("requested_by_username", String(100), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("due", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("completion_certificate_sha256", String(64), nullable=True),
    Index("ix_requests_document", "document_id", "version"),
    Index("ix_requests_congress_state", "congress_id", "state"),
)

slots = Table(
    "signature_slots",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("role", String(10), nullable=False),  # approver | signer
    Column("state", String(10), nullable=False),  # waiting | signed | rejected
    Column("verification_code", String(20), nullable=True, unique=True),
    Column("signed_at", UTCDateTime, nullable=True),
    Column("signed_sha256", String(64), nullable=True),
    Column("certificate_sha256", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_slots_username_state", "username", "state"),
)

audit = Table(
    "signing_audit",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False),
    Column("action", String(20), nullable=False),  # requested | viewed | signed | rejected | cancelled
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("ip", String(64), nullable=False, default=""),
    Column("user_agent", String(300), nullable=False, default=""),
    Column("detail", JSON, nullable=False, default=dict),
    Index("ix_audit_request", "request_id", "at"),
)

seals = Table(
    "seals",
    metadata,
    Column("record_id", String(36), nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("signature_sha256", String(64), nullable=False),
    Column("timestamp_token_sha256", String(64), nullable=True),
    Column("certificate_sha256", String(64), nullable=False),
    Column("sealed_at", UTCDateTime, nullable=False),
    UniqueConstraint("record_id", "manifest_sha256", name="uq_seals_record_manifest"),
)


# Signatures of documents another installation sealed and this one's archive imported
# (documents.archive.imported): read-only, so that /verify/{code} works here too.
imported_signatures = Table(
    "imported_signatures",
    metadata,
    Column("verification_code", String(40), primary_key=True),  # normalised as typed codes are
    Column("record_id", String(36), nullable=False),
    Column("congress_id", String(36), nullable=True),
    Column("organisation", String(300), nullable=False),
    Column("document_title", String(500), nullable=False),
    Column("signer_full_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("signed_at", UTCDateTime, nullable=True),
    Column("signed_sha256", String(64), nullable=False),
    Column("ca_fingerprint_sha256", String(64), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
)

# The CA that verified an imported package: a trust root for that package's documents only.
imported_cas = Table(
    "imported_cas",
    metadata,
    Column("fingerprint_sha256", String(64), primary_key=True),
    Column("cert_pem", Text, nullable=False),
    Column("subject", String(500), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
)


def make_database(url: str) -> Database:
    return Database(url, outbox, inbox)
