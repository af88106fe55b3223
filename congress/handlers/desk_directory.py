"""When a delegate is registered, renamed or removed, keep the desk's folded-name column in step
(consumed from the service's own CONGRESS stream, so the roster use cases need not know it)."""

from __future__ import annotations

from sqlalchemy import delete, select

import contracts.congress as cc
from congress.db import delegate_directory
from congress.domain.attendance import fold
from runtime.db import UnitOfWork


async def when_delegate_registered_or_updated(event: cc.DelegateRegistered | cc.DelegateUpdated,
                                              uow: UnitOfWork) -> None:
    delegate_id, congress_id = str(event.delegate_id), str(event.congress_id)
    search_name = " " + fold(event.full_name)[:399]  # a leading space: every word starts after one
    exists = await uow.session.scalar(select(delegate_directory.c.delegate_id).where(
        delegate_directory.c.delegate_id == delegate_id))
    if exists is None:
        await uow.session.execute(delegate_directory.insert().values(
            delegate_id=delegate_id, congress_id=congress_id, search_name=search_name))
    else:
        await uow.session.execute(delegate_directory.update().where(
            delegate_directory.c.delegate_id == delegate_id).values(search_name=search_name))


async def when_delegate_removed(event: cc.DelegateRemoved, uow: UnitOfWork) -> None:
    await uow.session.execute(delete(delegate_directory).where(
        delegate_directory.c.delegate_id == str(event.delegate_id)))
