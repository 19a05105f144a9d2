"""The job queue protocol every runner implements."""

from __future__ import annotations

from typing import Any, Protocol


class AlreadyQueued(Exception):
    """A job with the same queueing lock is already waiting; the new one was not added."""


class JobQueue(Protocol):
    """Defers named tasks; runs them with bounded concurrency, per-lock exclusion, retries."""

    async def defer(
        self,
        task: str,
        *,
        args: dict[str, Any],
        lock: str | None = None,
        queueing_lock: str | None = None,
        connection: Any = None,
    ) -> None:
        """Queue ``task(**args)``.

        ``lock``: jobs with the same lock never run at the same time. ``queueing_lock``: at
        most one *waiting* job per key; a second raises :class:`AlreadyQueued`.
        ``connection``: a runner that stores jobs in our database defers inside that
        connection's transaction; the embedded runner ignores it (its jobs are found again
        from our rows after a restart).
        """
        ...

    async def start(self) -> None:
        """Start executing jobs."""
        ...

    async def stop(self, *, drain: bool = True) -> None:
        """Stop; with ``drain`` wait for running and waiting jobs first."""
        ...
