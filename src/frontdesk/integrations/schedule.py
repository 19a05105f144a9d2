"""Mapping schedules: frequency and next run time, in the location's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_FREQUENCY = (1, "days")
DEFAULT_RUN_AT = time(6, 0)
MAX_FREQUENCY = {"hours": 24 * 31, "days": 366}


def next_daily_run(now: datetime, timezone: str, at: time = DEFAULT_RUN_AT) -> datetime:
    """The next ``at`` (06:00 by default) in ``timezone`` strictly after ``now``, as UTC."""
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    candidate = datetime.combine(local_now.date(), at, tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(UTC)


def to_utc(when: datetime, timezone: str) -> datetime:
    """An aware UTC datetime; a naive ``when`` is read as wall-clock time in ``timezone``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return when.astimezone(UTC)


def local_iso(when: datetime, timezone: str) -> str:
    """``when`` as ISO 8601 with the offset of ``timezone`` (how the API shows run times)."""
    return when.astimezone(ZoneInfo(timezone)).isoformat()


def frequency_delta(value: int, unit: str) -> timedelta:
    """The interval between runs (the sync engine adds it to the last run time)."""
    return timedelta(hours=value) if unit == "hours" else timedelta(days=value)
