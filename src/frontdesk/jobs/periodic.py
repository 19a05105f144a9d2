"""Periodic jobs: a registered task deferred on a cron schedule.

A periodic task body is a plain ``async def`` like any other; it also receives ``timestamp``
(the Unix time of the schedule tick it runs for), so a tick missed by one worker and caught by
another is still the same tick. The procrastinate runner defers each tick exactly once across
all workers (a unique row per task, schedule and tick). Periodic bodies must be idempotent
and cheap when there is nothing to do: a tick may run late, twice (a stalled worker's job is
run again) or beside the next one (a slow tick).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from frontdesk.errors import ConfigurationError

MAINTENANCE_PRIORITY = 10
"""Periodic upkeep jumps the queue: a backlog of sync runs must not delay the dispatcher or the
sweeper that recovers a dead worker's jobs (procrastinate fetches higher priorities first)."""


@dataclass(frozen=True)
class Periodic:
    """Defer ``task(timestamp=..., **args)`` on the ``cron`` schedule (5 or 6 fields, UTC)."""

    task: str
    cron: str
    periodic_id: str = ""  # tells apart several schedules of the same task
    args: dict[str, Any] = field(default_factory=dict)
    lock: str | None = None
    queueing_lock: str | None = None
    priority: int = 0


def cron_every(seconds: float) -> str:
    """A cron line that fires about every ``seconds``.

    Whole seconds under a minute use the seconds field (``* * * * * */S``), then whole
    minutes under an hour, then whole hours under a day, then daily; a period that does not
    divide its unit evenly gets a shorter last interval (``*/7`` seconds: …, 49, 56, 0).
    """
    if seconds <= 0:
        raise ConfigurationError("a periodic job needs a period above 0 seconds", field="cron")
    whole = max(1, round(seconds))
    if whole < 60:
        return f"* * * * * */{whole}"
    minutes = round(whole / 60)
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = round(minutes / 60)
    if hours < 24:
        return f"0 */{hours} * * *"
    return "0 0 * * *"
