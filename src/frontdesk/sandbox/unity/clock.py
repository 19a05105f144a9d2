"""Clocks for the Unity sandbox: real time, or a clock the tests move by hand.

Token idle expiry, ``GetServerInfo`` and the rate limiter read the time only through a
:class:`Clock`, so a test can expire a token by advancing a :class:`ManualClock` instead of
sleeping twenty minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of the current instant (timezone-aware, UTC)."""

    def now(self) -> datetime:
        """Return the current instant as an aware UTC datetime."""
        ...

    def advance(self, seconds: float) -> None:
        """Move this clock forward by ``seconds``."""
        ...


class SystemClock:
    """The wall clock, plus an offset that ``advance`` grows (used by the admin endpoint)."""

    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        """Return the wall-clock instant plus the accumulated offset."""
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward by ``seconds`` (e.g. to expire idle tokens in an end-to-end run)."""
        self._offset += timedelta(seconds=seconds)


class ManualClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        moment = start or datetime(2025, 3, 3, 14, 0, tzinfo=UTC)
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment.astimezone(UTC)

    def now(self) -> datetime:
        """Return the instant the clock was last set or advanced to."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        """Set the clock to ``moment`` (an aware datetime)."""
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment.astimezone(UTC)
