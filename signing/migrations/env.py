"""Alembic environment of the signing service."""

from alembic import context

from signing.db import metadata
from runtime.migrations import run_migrations

run_migrations(context, metadata)
