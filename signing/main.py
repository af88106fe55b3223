"""The signing service process: `uvicorn signing.main:app`."""

from __future__ import annotations

from pathlib import Path

import contracts.signing
from runtime.service import ServiceRuntime, create_app
from signing import pages
from signing.api import ca as ca_api
from signing.api import requests as requests_api
from signing.api import verify as verify_api
from signing.api import whoami
from signing.config import Settings
from signing.db import make_database
from signing.handlers import Deps
from signing.handlers.authority import ensure_ca
from signing.handlers.verification import ReportCache
from signing.pki import KeyProtector
from signing.subscribers import subscriptions

HERE = Path(__file__).parent


def bootstrap(settings: Settings | None = None) -> ServiceRuntime:
    """The one place that wires the signing service's real parts together."""
    settings = settings or Settings()
    db = make_database(settings.resolved_database_url())
    holder: dict[str, ServiceRuntime] = {}
    deps = Deps(settings=settings, db=db, protector=KeyProtector(settings.secret_key),
                js_of=lambda: holder["runtime"].js, cache_dir=settings.data_dir / "blobcache")

    async def create_ca(_runtime: ServiceRuntime) -> None:
        await ensure_ca(deps)

    runtime = ServiceRuntime(
        name="signing",
        settings=settings,
        db=db,
        subscriptions=subscriptions(deps),
        publishes=contracts.signing,
        migrations=HERE / "migrations",
        on_db_ready=[create_ca],
        extras={"signing": deps, "signing_reports": ReportCache()},
    )
    holder["runtime"] = runtime
    return runtime


def make_app(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    runtime = bootstrap(settings)
    routers = [whoami.router, requests_api.router, ca_api.router, verify_api.router, pages.router]
    return create_app(runtime, routers=routers, title="Signing service")


app = make_app()
