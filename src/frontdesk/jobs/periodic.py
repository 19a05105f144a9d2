"""Periodic jobs: a registered task deferred on a cron schedule.

A periodic task body is a plain ``async def`` like any other; it also receives ``timestamp``
(the Unix time of the schedule tick it runs for), so a tick missed by one worker and caught by
another is still the same tick. The procrastinate runner defers each tick exactly once across
all workers (a unique row per task, schedule and tick).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Periodic:
    """Defer ``task(timestamp=..., **args)`` on the ``cron`` schedule (5 or 6 fields, UTC)."""

    task: str
    cron: str
    periodic_id: str = ""  # tells apart several schedules of the same task
    args: dict[str, Any] = field(default_factory=dict)
    lock: str | None = None
    queueing_lock: str | None = None
