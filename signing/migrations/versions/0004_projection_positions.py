"""Copies of staff accounts and memberships keep the position of the last event applied to them.

`source_seq` on both copies (and `active_seq` on accounts) and a `removed` tombstone on memberships, so that events applied out
of order by replicas end in the newest state (runtime/projection.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.add_column(sa.Column("source_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("active_seq", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("congress_staff") as batch_op:
        batch_op.add_column(sa.Column("removed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("source_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("congress_staff") as batch_op:
        batch_op.drop_column("source_seq")
        batch_op.drop_column("removed")
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.drop_column("active_seq")
        batch_op.drop_column("source_seq")
