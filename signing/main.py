"""The signing service process: `uvicorn signing.main:app`."""

from __future__ import annotations

from pathlib import Path

import contracts.signing
from signing.config import Settings
from signing.db import make_database
from signing.subscribers import SUBSCRIPTIONS
from runtime.service import ServiceRuntime, create_app

HERE = Path(__file__).parent


def bootstrap(settings: Settings | None = None) -> ServiceRuntime:
    """The one place that wires the signing service's real parts together."""
    settings = settings or Settings()
    return ServiceRuntime(
        name="signing",
        settings=settings,
        db=make_database(settings.resolved_database_url()),
        subscriptions=SUBSCRIPTIONS,
        publishes=contracts.signing,
        migrations=HERE / "migrations",
    )


def make_app(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    runtime = bootstrap(settings)
    return create_app(runtime, routers=[], title="Signing service")


app = make_app()
