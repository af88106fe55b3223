"""The congress service process: `uvicorn congress.main:app`."""

from __future__ import annotations

from pathlib import Path

import contracts.congress
from congress.api import audit as audit_api
from congress.api import auth as auth_api
from congress.api import staff as staff_api
from congress.api import users as users_api
from congress import on_the_day, publishing
from congress.config import Settings
from congress.db import make_database
from congress.handlers.accounts import ensure_first_admin
from congress.handlers.keys import ensure_signing_key, publish_keys
from congress.handlers.revocations import RevocationSweeper
from congress.subscribers import SUBSCRIPTIONS
from congress.tokens import Signer
from contracts.streams import SHARED_KV_BUCKET
from runtime.service import ServiceRuntime, create_app

HERE = Path(__file__).parent


async def prepare_identity(runtime: ServiceRuntime) -> None:
    """First start: the first admin and a token signing key."""
    settings = runtime.settings
    await ensure_first_admin(runtime.db, settings.admin_username, settings.admin_password)
    await ensure_signing_key(runtime.db, settings.secret_key)


async def announce_keys(runtime: ServiceRuntime) -> None:
    """Every service verifies tokens with the public keys published here."""
    await publish_keys(runtime.db, await runtime.js.key_value(SHARED_KV_BUCKET), runtime.auth)


async def sweep_revocations(runtime: ServiceRuntime) -> None:
    """Revocations that can refuse nothing any more leave KV (congress/handlers/revocations.py)."""
    sweeper = runtime.extras["revocation_sweeper"] = RevocationSweeper(await runtime.js.key_value(SHARED_KV_BUCKET))
    sweeper.start()


async def stop_sweeping(runtime: ServiceRuntime) -> None:
    if (sweeper := runtime.extras.get("revocation_sweeper")) is not None:
        await sweeper.stop()


def bootstrap(settings: Settings | None = None) -> ServiceRuntime:
    """The one place that wires the congress service's real parts together."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        name="congress",
        settings=settings,
        db=make_database(settings.resolved_database_url()),
        subscriptions=SUBSCRIPTIONS,
        publishes=contracts.congress,
        migrations=HERE / "migrations",
        on_db_ready=[prepare_identity],
        on_nats_ready=[announce_keys, sweep_revocations],
        on_stop=[stop_sweeping],
        extras={"signer": Signer(settings.secret_key)},
    )
    publishing.install(runtime)
    on_the_day.install(runtime)
    return runtime


def make_app(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    runtime = bootstrap(settings)
    routers = [*publishing.SCAN_ROUTERS, auth_api.router, users_api.router, staff_api.router, audit_api.router,
               *publishing.ROUTERS, *on_the_day.ROUTERS]
    app = create_app(runtime, routers=routers, title="Congress service")
    on_the_day.mount_static(app)
    return app


app = make_app()
