"""Alembic environment of the documents service."""

from alembic import context

from documents.db import metadata
from runtime.migrations import run_migrations

run_migrations(context, metadata)
