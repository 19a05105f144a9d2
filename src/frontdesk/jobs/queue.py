"""The job queue protocol every runner implements."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol, runtime_checkable


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

    async def waiting_keys(self, queueing_locks: Collection[str]) -> set[str]:
        """Those of ``queueing_locks`` that a waiting job holds (a defer would be refused).

        Lets a caller that offers many jobs skip the ones already waiting with one look-up
        instead of one refused insert each.
        """
        ...

    async def start(self) -> None:
        """Start executing jobs."""
        ...

    async def stop(self, *, drain: bool = True) -> None:
        """Stop; with ``drain`` wait for running and waiting jobs first."""
        ...


@runtime_checkable
class DurableJobQueue(Protocol):
    """A runner whose jobs are rows shared by many processes, and so need upkeep."""

    async def requeue_stalled(self, *, seconds_since_heartbeat: float) -> list[int]:
        """Put the jobs of workers that stopped sending heartbeats back to waiting."""
        ...

    async def prune_finished(self, *, older_than_hours: int) -> None:
        """Delete jobs that ended more than ``older_than_hours`` ago."""
        ...
