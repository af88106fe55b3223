"""A loop that runs for the life of a service process (a worker, an importer, an audit)."""

from __future__ import annotations

import asyncio
import contextlib


class BackgroundLoop:
    """`start()` runs `_loop()` as a task; `stop()` cancels it and waits for it to end."""

    task_name = "background"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # shutting down
                await self._task

    async def _loop(self) -> None:
        raise NotImplementedError
