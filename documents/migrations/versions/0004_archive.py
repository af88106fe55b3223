"""Archive: sealed records, trusted CAs, the search index (FTS5 on SQLite, tsvector on PostgreSQL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import runtime.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_records",
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("close_event_id", sa.String(length=36), nullable=True),
        sa.Column("close_stream_seq", sa.BigInteger(), nullable=True),
        sa.Column("wait_targets", sa.JSON(), nullable=True),
        sa.Column("claimed_until", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("organisation", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("starts_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("ends_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=True),
        sa.Column("chain_head", sa.String(length=64), nullable=True),
        sa.Column("chain_length", sa.BigInteger(), nullable=True),
        sa.Column("bag_sha256", sa.String(length=64), nullable=True),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("seal_sha256", sa.String(length=64), nullable=True),
        sa.Column("timestamp_sha256", sa.String(length=64), nullable=True),
        sa.Column("package_sha256", sa.String(length=64), nullable=True),
        sa.Column("package_size", sa.BigInteger(), nullable=True),
        sa.Column("trusted_ca_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", runtime.db.UTCDateTime(), nullable=False),
        sa.Column("sealed_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("retain_until", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("fixity_checked_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("fixity_intact", sa.Boolean(), nullable=True),
        sa.Column("fixity_problems", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("congress_id", name=op.f("pk_archive_records")),
        sa.UniqueConstraint("record_id", name=op.f("uq_archive_records_record_id")),
    )
    op.create_index("ix_archive_records_state", "archive_records", ["state"], unique=False)
    op.create_index("ix_archive_records_fixity", "archive_records", ["state", "fixity_checked_at"], unique=False)
    op.create_table(
        "archive_trusted_cas",
        sa.Column("fingerprint_sha256", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=True),
        sa.Column("added_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint_sha256", name=op.f("pk_archive_trusted_cas")),
    )
    op.create_table(
        "archive_search",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=300), nullable=False),
        sa.Column("unit_folded", sa.String(length=300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_search")),
    )
    op.create_index("ix_archive_search_congress_id", "archive_search", ["congress_id"], unique=False)
    op.create_index("ix_archive_search_filters", "archive_search", ["year", "kind"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Original words weigh more (A, C) than their folded forms (B, D): an exact-diacritics
        # query ranks exact matches first. Filled by documents/archive/search.py.
        op.execute("ALTER TABLE archive_search ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_archive_search_tsv ON archive_search USING gin (tsv)")
    else:
        # Own folding (đ/Đ included): the tokenizer must not fold the original columns.
        op.execute("CREATE VIRTUAL TABLE archive_fts USING fts5(title, body, title_folded, body_folded, "
                   "content='', tokenize='unicode61 remove_diacritics 0')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS archive_fts")
    op.drop_index("ix_archive_search_filters", table_name="archive_search")
    op.drop_index("ix_archive_search_congress_id", table_name="archive_search")
    op.drop_table("archive_search")
    op.drop_table("archive_trusted_cas")
    op.drop_index("ix_archive_records_fixity", table_name="archive_records")
    op.drop_index("ix_archive_records_state", table_name="archive_records")
    op.drop_table("archive_records")
