"""Every event the signing service consumes, and the handler each one goes to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import contracts.congress as cc
import contracts.documents as dc
from contracts.streams import SERVICE_STREAMS
from runtime.db import UnitOfWork
from runtime.inbox import Subscription
from signing.db import access
from signing.handlers import Deps
from signing.handlers import authority, imported_signatures, seals
from signing.handlers.when_facts_arrive import remember_closed_congress, remember_document


def _both(first: Callable[..., Awaitable[bool]], then: Callable[..., Awaitable[None]]):  # type: ignore[no-untyped-def]
    """One event, two effects in the same transaction (the staff copy, then the certificate). The
    certificate follows only the newest event of an account: an older one applied late (replicas,
    retries) would issue a certificate in an old name or revoke one a later update kept."""

    async def handler(event, uow: UnitOfWork) -> None:  # type: ignore[no-untyped-def]
        if await first(event, uow):
            await then(event, uow)

    return handler


def subscriptions(deps: Deps) -> list[Subscription]:
    staff = access.handlers()
    congress = {
        **staff,
        # staff copy first: certificates and requests read it
        cc.UserCreated: _both(staff[cc.UserCreated], partial(authority.when_user_changed, deps)),
        cc.UserUpdated: _both(staff[cc.UserUpdated], partial(authority.when_user_changed, deps)),
        cc.UserDeactivated: _both(staff[cc.UserDeactivated], partial(authority.when_user_deactivated, deps)),
        cc.CongressClosed: remember_closed_congress,
    }
    documents = {
        dc.DocumentUploaded: remember_document,
        dc.ArchiveSealRequested: partial(seals.apply_seal, deps),
        dc.ArchiveImported: imported_signatures.when_archive_imported_keep_signatures,
    }
    return [
        Subscription(SERVICE_STREAMS["congress"], congress),
        Subscription(SERVICE_STREAMS["documents"], documents),
    ]
