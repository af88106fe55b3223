"""Signatures of imported archive records and the CAs they are checked against.

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
        "imported_signatures",
        sa.Column("verification_code", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=True),
        sa.Column("organisation", sa.String(length=300), nullable=False),
        sa.Column("document_title", sa.String(length=500), nullable=False),
        sa.Column("signer_full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("signed_at", runtime.db.UTCDateTime(), nullable=True),
        sa.Column("signed_sha256", sa.String(length=64), nullable=False),
        sa.Column("ca_fingerprint_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("verification_code", name=op.f("pk_imported_signatures")),
    )
    op.create_table(
        "imported_cas",
        sa.Column("fingerprint_sha256", sa.String(length=64), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("added_at", runtime.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint_sha256", name=op.f("pk_imported_cas")),
    )


def downgrade() -> None:
    op.drop_table("imported_cas")
    op.drop_table("imported_signatures")
