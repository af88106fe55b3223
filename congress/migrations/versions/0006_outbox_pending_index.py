"""The outbox's index covers only the rows still to publish; event_id is no longer unique.

Revision ID: 0006_outbox_pending_index
Revises: 0005_projection_positions
Create Date: 2026-11-29
"""

from runtime.migrations import outbox_full_indexes, outbox_pending_only_index

revision = "0006_outbox_pending_index"
down_revision = "0005_projection_positions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    outbox_pending_only_index()


def downgrade() -> None:
    outbox_full_indexes()
