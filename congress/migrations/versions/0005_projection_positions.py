"""Copies kept from events keep the position of the last event applied to them.

`source_seq` on the signature requests and the desk directory, and a `removed` tombstone on the
directory, so that events applied out of order by replicas end in the newest state
(runtime/projection.py).

Revision ID: 0005_projection_positions
Revises: 0004_checkins
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_projection_positions"
down_revision = "0004_checkins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delegate_directory") as batch_op:
        batch_op.add_column(sa.Column("removed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("source_seq", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("signature_requests") as batch_op:
        batch_op.add_column(sa.Column("source_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signature_requests") as batch_op:
        batch_op.drop_column("source_seq")
    with op.batch_alter_table("delegate_directory") as batch_op:
        batch_op.drop_column("source_seq")
        batch_op.drop_column("removed")
