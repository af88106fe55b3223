"""The congress service process: `uvicorn congress.main:app`."""

from __future__ import annotations

from pathlib import Path

import contracts.congress
from congress.config import Settings
from congress.db import make_database
from congress.subscribers import SUBSCRIPTIONS
from runtime.service import ServiceRuntime, create_app

HERE = Path(__file__).parent


def bootstrap(settings: Settings | None = None) -> ServiceRuntime:
    """The one place that wires the congress service's real parts together."""
    settings = settings or Settings()
    return ServiceRuntime(
        name="congress",
        settings=settings,
        db=make_database(settings.resolved_database_url()),
        subscriptions=SUBSCRIPTIONS,
        publishes=contracts.congress,
        migrations=HERE / "migrations",
    )


def make_app(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    runtime = bootstrap(settings)
    return create_app(runtime, routers=[], title="Congress service")


app = make_app()
