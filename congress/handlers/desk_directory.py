"""When a delegate is registered, renamed or removed, keep the desk's folded-name column in step
(consumed from the service's own CONGRESS stream, so the roster use cases need not know it).

Replicas of the desk consumer apply these events in any order: the newest event of a delegate
wins and a removal is a tombstone (runtime/projection.py), so a late rename cannot bring back
an old name, nor a late registration a removed delegate.
"""

from __future__ import annotations

import contracts.congress as cc
from congress.db import delegate_directory
from congress.domain.attendance import fold
from runtime.db import UnitOfWork
from runtime.projection import apply_newer, remove


async def when_delegate_registered_or_updated(event: cc.DelegateRegistered | cc.DelegateUpdated,
                                              uow: UnitOfWork) -> None:
    search_name = " " + fold(event.full_name)[:399]  # a leading space: every word starts after one
    await apply_newer(uow, delegate_directory, {"delegate_id": str(event.delegate_id)},
                      {"congress_id": str(event.congress_id), "search_name": search_name})


async def when_delegate_removed(event: cc.DelegateRemoved, uow: UnitOfWork) -> None:
    await remove(uow, delegate_directory, {"delegate_id": str(event.delegate_id)}, state={"search_name": ""},
                 placeholders={"congress_id": str(event.congress_id)})
