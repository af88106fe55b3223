"""Alembic environment of the congress service."""

from alembic import context

from congress.db import metadata
from runtime.migrations import run_migrations

run_migrations(context, metadata)
