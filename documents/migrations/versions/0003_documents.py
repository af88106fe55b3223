"""Documents, versions, the signing workflow copy and the congress facts the service renders from.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import runtime.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("agenda_item_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", runtime.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index("ix_documents_congress_id", "documents", ["congress_id"], unique=False)
    op.create_table(
        "document_versions",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("approved_via", sa.String(length=20), nullable=True),
        sa.Column("approved_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("source_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", runtime.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_document_versions_document_id_documents")),
        sa.PrimaryKeyConstraint("document_id", "version", name=op.f("pk_document_versions")),
    )
    op.create_index("ix_document_versions_sha256", "document_versions", ["sha256"], unique=False)
    op.create_table(
        "signing_requests",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("final_sha256", sa.String(length=64), nullable=True),
        sa.Column("imported_version", sa.Integer(), nullable=True),
        sa.Column("created_at", runtime.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_signing_requests")),
    )
    op.create_index("ix_signing_requests_document_id", "signing_requests", ["document_id"], unique=False)
    op.create_index("ix_signing_requests_to_import", "signing_requests", ["status", "imported_version"], unique=False)
    op.create_table(
        "signatures",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("signer", sa.String(length=100), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("signer_full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("verification_code", sa.String(length=100), nullable=False),
        sa.Column("signed_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "signer", name=op.f("pk_signatures")),
    )
    op.create_index("ix_signatures_document_id", "signatures", ["document_id"], unique=False)
    op.create_table(
        "congresses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("organisation", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=300), nullable=False),
        sa.Column("venue", sa.String(length=300), nullable=False),
        sa.Column("starts_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("ends_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("quorum", sa.Float(), nullable=False),
        sa.Column("closed_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("updated_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_congresses")),
    )
    op.create_table(
        "agenda_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_items")),
    )
    op.create_index("ix_agenda_items_congress_id", "agenda_items", ["congress_id"], unique=False)
    op.create_table(
        "delegates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=300), nullable=False),
        sa.Column("delegate_type", sa.String(length=100), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("registered_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegates")),
    )
    op.create_index("ix_delegates_congress_id", "delegates", ["congress_id"], unique=False)
    op.create_table(
        "checkins",
        sa.Column("delegate_id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("checked_in_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("delegate_id", name=op.f("pk_checkins")),
    )
    op.create_index("ix_checkins_congress_id", "checkins", ["congress_id"], unique=False)
    op.create_table(
        "publications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("published_at", runtime.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", runtime.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    op.create_index("ix_publications_congress_id", "publications", ["congress_id"], unique=False)
    op.create_index("ix_publications_document_id", "publications", ["document_id"], unique=False)


def downgrade() -> None:
    for index, table in (
        ("ix_publications_document_id", "publications"),
        ("ix_publications_congress_id", "publications"),
        ("ix_checkins_congress_id", "checkins"),
        ("ix_delegates_congress_id", "delegates"),
        ("ix_agenda_items_congress_id", "agenda_items"),
        ("ix_signatures_document_id", "signatures"),
        ("ix_signing_requests_to_import", "signing_requests"),
        ("ix_signing_requests_document_id", "signing_requests"),
        ("ix_document_versions_sha256", "document_versions"),
        ("ix_documents_congress_id", "documents"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("publications", "checkins", "delegates", "agenda_items", "congresses", "signatures",
                  "signing_requests", "document_versions", "documents"):
        op.drop_table(table)
