"""Days and times of a run: the run's day, its window, the next scheduled run.

All in the location's time zone: a mapping's run day is the local calendar day at the
moment it is due, its window is the one day ``customer fetch delay`` days before, and a
schedule of N days keeps its local wall-clock time across daylight-saving changes (06:00
stays 06:00), while N hours are N real hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from frontdesk.connectors.base import MAX_WINDOW_DAYS, Window
from frontdesk.integrations.schedule import frequency_delta


def local_day(moment: datetime, timezone: str) -> date:
    """The calendar day of ``moment`` in ``timezone``."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def window_for(run_day: date, delay_days: int) -> Window:
    """The one-day window a run acting as ``run_day`` reads: ``delay_days`` days before."""
    return Window.day(run_day - timedelta(days=delay_days))


def next_run_after(
    previous: datetime, *, value: int, unit: str, timezone: str, now: datetime
) -> datetime:
    """The first scheduled time after ``now``, stepping from ``previous`` by the frequency.

    Missed runs are not caught up one by one (a server down for three days runs once, for
    today's window; a backfill covers the gap). Day steps keep the local wall-clock time.
    """
    if unit == "hours":
        step = frequency_delta(value, unit)
        if previous > now:
            return previous
        missed = (now - previous) // step + 1
        return previous + step * missed
    zone = ZoneInfo(timezone)
    local = previous.astimezone(zone).replace(tzinfo=None)
    candidate = previous
    while candidate <= now:
        local += timedelta(days=value)
        candidate = local.replace(tzinfo=zone).astimezone(previous.tzinfo)
    return candidate


def split_range(first: date, last: date) -> list[Window]:
    """Consecutive windows of at most ``MAX_WINDOW_DAYS`` days covering ``first..last``."""
    windows: list[Window] = []
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=MAX_WINDOW_DAYS - 1))
        windows.append(Window(start, end))
        start = end + timedelta(days=1)
    return windows
