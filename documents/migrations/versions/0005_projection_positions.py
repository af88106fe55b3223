"""Copies of other services' entities keep the position of the last event applied to them.

`source_seq` on every copied row (and `active_seq` on accounts), `removed` tombstones on check-ins and staff memberships, and
`agendas` (one row per congress: the position of the agenda its items come from), so that
events applied out of order by replicas end in the newest state (runtime/projection.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

POSITIONED = ("staff_users", "congress_staff", "congresses", "delegates", "checkins", "signing_requests")
TOMBSTONED = ("congress_staff", "checkins")


def upgrade() -> None:
    for table in POSITIONED:
        with op.batch_alter_table(table) as batch_op:
            if table in TOMBSTONED:
                batch_op.add_column(sa.Column("removed", sa.Boolean(), nullable=False, server_default=sa.false()))
            batch_op.add_column(sa.Column("source_seq", sa.BigInteger(), nullable=True))
            if table == "staff_users":
                batch_op.add_column(sa.Column("active_seq", sa.BigInteger(), nullable=True))
    op.create_table(
        "agendas",
        sa.Column("congress_id", sa.String(length=36), nullable=False),
        sa.Column("source_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("congress_id", name=op.f("pk_agendas")),
    )


def downgrade() -> None:
    op.drop_table("agendas")
    for table in reversed(POSITIONED):
        with op.batch_alter_table(table) as batch_op:
            if table == "staff_users":
                batch_op.drop_column("active_seq")
            batch_op.drop_column("source_seq")
            if table in TOMBSTONED:
                batch_op.drop_column("removed")
