"""A periodic check in a long-running process: the credential warnings, the alerts.

The loop runs its check, then sleeps the interval (read each round, so a test or a
reloaded setting takes effect); an interval of 0 means the loop never starts. A failing
round is logged by its type and the next round runs anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from frontdesk.logs import get_logger

log = get_logger(__name__)


class CheckLoop:
    """Runs ``check`` every ``interval_s()`` seconds between :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        name: str,
        *,
        interval_s: Callable[[], float],
        check: Callable[[], Awaitable[object]],
    ) -> None:
        self.name = name
        self._interval_s = interval_s
        self._check = check
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._interval_s() > 0:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self._check()
            except Exception as error:  # keep checking; the next round may succeed
                log.warning(f"{self.name}.failed", error_type=type(error).__name__)
            await asyncio.sleep(self._interval_s())
