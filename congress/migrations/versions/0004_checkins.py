"""Check-ins, the desk's folded-name directory, and the signature requests a close waits for.

Revision ID: 0004_checkins
Revises: 0003_congresses
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import runtime.db

revision = "0004_checkins"
down_revision = "0003_congresses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkins",
        sa.Column("delegate_id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("checked_in_at", runtime.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_in_by", sa.String(length=36), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("delegate_id", name=op.f("pk_checkins")),
    )
    op.create_index("ix_checkins_congress", "checkins", ["congress_id", "checked_in_at"], unique=False)
    op.create_table(
        "delegate_directory",
        sa.Column("delegate_id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("search_name", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("delegate_id", name=op.f("pk_delegate_directory")),
    )
    op.create_index("ix_delegate_directory_search", "delegate_directory", ["congress_id", "search_name"], unique=False)
    op.create_table(
        "signature_requests",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("congress_id", sa.String(length=36), nullable=True),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("updated_at", runtime.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_signature_requests")),
    )
    op.create_index(op.f("ix_signature_requests_congress_id"), "signature_requests", ["congress_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_signature_requests_congress_id"), table_name="signature_requests")
    op.drop_table("signature_requests")
    op.drop_index("ix_delegate_directory_search", table_name="delegate_directory")
    op.drop_table("delegate_directory")
    op.drop_index("ix_checkins_congress", table_name="checkins")
    op.drop_table("checkins")
