"""The outbox's index covers only the rows still to publish; event_id is no longer unique.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from runtime.migrations import outbox_full_indexes, outbox_pending_only_index

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    outbox_pending_only_index()


def downgrade() -> None:
    outbox_full_indexes()
