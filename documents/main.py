"""The documents service process: `uvicorn documents.main:app`."""

from __future__ import annotations

from pathlib import Path

import contracts.documents
from documents.config import Settings
from documents.db import make_database
from documents.subscribers import SUBSCRIPTIONS
from runtime.service import ServiceRuntime, create_app

HERE = Path(__file__).parent


def bootstrap(settings: Settings | None = None) -> ServiceRuntime:
    """The one place that wires the documents service's real parts together."""
    settings = settings or Settings()
    return ServiceRuntime(
        name="documents",
        settings=settings,
        db=make_database(settings.resolved_database_url()),
        subscriptions=SUBSCRIPTIONS,
        publishes=contracts.documents,
        migrations=HERE / "migrations",
    )


def make_app(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    runtime = bootstrap(settings)
    return create_app(runtime, routers=[], title="Documents service")


app = make_app()
