"""A loop that runs for the life of a service process (a worker, an importer, an audit)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

log = structlog.get_logger()


class BackgroundLoop:
    """`start()` runs rounds of `run_once()` with `pause()` between them; a failed round is
    logged as `<failure_event>` and the next one tries again (the database or NATS may be away
    for a moment). `stop()` cancels the task and waits for it to end."""

    task_name = "background"
    failure_event = "background.round_failed"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # shutting down
                await self._task

    async def run_once(self) -> object:
        raise NotImplementedError

    async def pause(self) -> None:
        raise NotImplementedError

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning(self.failure_event, error=str(exc) or type(exc).__name__)
            await self.pause()
