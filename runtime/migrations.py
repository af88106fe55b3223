"""Alembic migrations per service, on SQLite and PostgreSQL, run at start-up.

Each service keeps `<service>/migrations/` (env.py calls `run_migrations`). Replicas that
start together on PostgreSQL serialise on an advisory lock, so only one migrates.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text

from runtime.db import OUTBOX_UNSENT, sync_url


def alembic_config(migrations: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade(migrations: Path, url: str, revision: str = "head") -> None:
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(migrations, url), revision)


def run_migrations(alembic_context, target_metadata: MetaData) -> None:  # type: ignore[no-untyped-def]
    """The body of every service's migrations/env.py (online mode only)."""
    url = alembic_context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    lock_id = zlib.crc32(str(alembic_context.config.get_main_option("script_location")).encode())
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
            connection.commit()
        try:
            alembic_context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with alembic_context.begin_transaction():
                alembic_context.run_migrations()
            connection.commit()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                connection.commit()
    engine.dispose()


def outbox_pending_only_index() -> None:
    """Every service's outbox: the relay's index covers only unsent rows, and event_id is no
    longer unique (nothing looks a row up by it; JetStream deduplicates by it). Both cut what
    each emitted event and each row marked sent costs the producer."""
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint("uq_outbox_event_id", type_="unique")
    op.create_index("ix_outbox_pending", "outbox", ["seq"], unique=False,
                    sqlite_where=OUTBOX_UNSENT, postgresql_where=OUTBOX_UNSENT)


def outbox_full_indexes() -> None:
    """Undoes `outbox_pending_only_index`."""
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.create_unique_constraint("uq_outbox_event_id", ["event_id"])
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "seq"], unique=False)
