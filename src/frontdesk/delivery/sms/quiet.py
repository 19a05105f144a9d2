"""Quiet hours: texts go out only inside a window of the location's day.

Property ``review.quiet.hours`` (group, or location override) = ``HH:MM-HH:MM`` in the
location's time zone (the mapping's ``timezone``), or ``off``; default ``08:00-21:00``; an
unreadable value counts as the default (the property is not validated when it is set: see
docs/messaging.md). A window may wrap midnight (``22:00-06:00``). Where the recipient's
number has one time zone of its own (``phonenumbers``) that differs, the text waits for the
recipient's window too. :func:`opening` answers the earliest moment both are open.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones
from sqlalchemy import select

from frontdesk.context import AppContext
from frontdesk.integrations.mappings import effective_properties
from frontdesk.integrations.models import IntegrationMapping

QUIET_HOURS_KEY = "review.quiet.hours"
DEFAULT_WINDOW = "08:00-21:00"
CACHE_S = 30.0
STEP = timedelta(minutes=1)
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    """Sending hours in one zone (``start == end``: always open)."""

    start: clock_time
    end: clock_time
    zone: ZoneInfo

    def open_at(self, when: datetime) -> bool:
        local = when.astimezone(self.zone).time()
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_opening(self, when: datetime) -> datetime:
        """``when`` if open, else the next start of the window (in UTC as given)."""
        if self.open_at(when):
            return when
        local = when.astimezone(self.zone)
        start = local.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        if start <= local:
            start += timedelta(days=1)
        return start.astimezone(when.tzinfo)


def parse_window(value: str | None, zone: ZoneInfo) -> Window | None:
    """The window of a property value; None for ``off``; the default when unreadable."""
    text = (value or DEFAULT_WINDOW).strip().lower()
    if text == "off":
        return None
    found = _WINDOW.match(text) or _WINDOW.match(DEFAULT_WINDOW)
    assert found is not None
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        return parse_window(DEFAULT_WINDOW, zone)
    end = clock_time(0, 0) if h2 == 24 else clock_time(h2, m2)
    return Window(clock_time(h1, m1), end, zone)


def recipient_zone(number: str) -> ZoneInfo | None:
    """The number's own time zone when it has exactly one."""
    try:
        zones = number_zones.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None
    if len(zones) != 1:
        return None
    try:
        return ZoneInfo(zones[0])
    except (ZoneInfoNotFoundError, ValueError):
        return None


def opening(windows: list[Window], now: datetime) -> datetime:
    """The earliest moment from ``now`` at which every window is open (``now`` if open)."""
    when = now
    for _ in range(4 * 24 * 60):  # a window of at least a minute opens within two days
        later = max(w.next_opening(when) for w in windows) if windows else when
        if all(w.open_at(later) for w in windows):
            return later
        when = max(later, when + STEP)
    return now


class QuietHours:
    """The location's window, read from its mapping and cached for :data:`CACHE_S`."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._cache: dict[int, tuple[float, Window | None]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.reads = 0
        """Windows read from the database so far (tests, diagnostics)."""

    async def window(self, location_id: int) -> Window | None:
        cached = self._cache.get(location_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        # One read per location however many texts of it are in flight.
        async with self._locks.setdefault(location_id, asyncio.Lock()):
            cached = self._cache.get(location_id)
            if cached is not None and time.monotonic() - cached[0] < CACHE_S:
                return cached[1]
            self.reads += 1
            return await self._read(location_id)

    async def _read(self, location_id: int) -> Window | None:
        async with self._ctx.db.reader() as session:
            mapping = (
                await session.execute(
                    select(IntegrationMapping)
                    .where(IntegrationMapping.business_id == location_id)
                    .order_by(IntegrationMapping.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if mapping is None:
                window = parse_window(None, ZoneInfo("UTC"))
            else:
                properties = effective_properties(mapping, secrets=self._ctx.secrets)
                try:
                    zone = ZoneInfo(mapping.timezone)
                except (ZoneInfoNotFoundError, ValueError):
                    zone = ZoneInfo("UTC")
                window = parse_window(properties.get(QUIET_HOURS_KEY), zone)
        self._cache[location_id] = (time.monotonic(), window)
        return window

    async def not_before(self, location_id: int, number: str, now: datetime) -> datetime:
        """When a text to ``number`` from this location may go (``now`` if it may now)."""
        window = await self.window(location_id)
        if window is None:
            return now
        windows = [window]
        zone = recipient_zone(number)
        if zone is not None and zone.key != window.zone.key:
            windows.append(Window(window.start, window.end, zone))
        return opening(windows, now)
