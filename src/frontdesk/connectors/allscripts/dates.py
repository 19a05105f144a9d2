"""Unity dates and times in every response format of reference §4, as tolerant parsers.

Accepted, each optionally followed by a time (``h:mm``, ``h:mm:ss``, a fraction of up to
nine digits, ``AM``/``PM`` in any case with or without a space, a ``T`` or blanks before it)
and an offset (``Z``, ``-04:00``, ``-0400``):

- ``M/D/YYYY`` — .NET "G" en-US ``7/6/2015 9:00:00 AM``, ``03/02/2018 5:26:53 PM``,
  ``12/25/2013 12:37PM``, ``10/07/2013``
- ``YYYY-MM-DD`` — ISO, ``2013-10-29T10:30:45.0292000-04:00``; also ``YYYY/MM/DD``
- ``D-Mon-YYYY`` — ``01-May-1950``, ``26-Sep-2014 9:34 am``
- ``Mon D YYYY`` — SQL Server's default ``Feb 28 2013  1:34PM``, ``Nov  1 2011 11:31AM``

Times alone (``09:00``) are read by :func:`parse_time`. Impossible dates (``10/00/1999``),
blanks and anything else give ``None``: the caller decides whether a missing value matters.
Row times are the server's local wall clock without offset; :func:`in_zone` attaches it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_TIME = (
    r"(?:(?:T|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_DATES = (
    r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})",
    r"(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})",
    r"(?P<d>\d{1,2})-(?P<mon>[A-Za-z]{3})-(?P<y>\d{4})",
    r"(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})",
)
_PATTERNS = tuple(re.compile(f"{pattern}{_TIME}", re.ASCII) for pattern in _DATES)
_TIME_ONLY = re.compile(
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?", re.ASCII
)
# The common case, ``M/D/YYYY h:mm:ss AM``, without the general machinery (hot path).
_GENERAL = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP])M", re.ASCII)


def parse_datetime(text: str) -> datetime | None:
    """A date or date-time in any §4 format; aware only when the text has an offset."""
    value = text.strip()
    fast = _GENERAL.fullmatch(value)
    if fast is not None:
        month, day, year, hour, minute, second, half = fast.groups()
        hours = _hour12(int(hour), half)
        if hours is None:
            return None
        try:
            return datetime(int(year), int(month), int(day), hours, int(minute), int(second))
        except ValueError:
            return None
    for pattern in _PATTERNS:
        match = pattern.fullmatch(value)
        if match is not None:
            return _build(match)
    return None


def parse_date(text: str) -> date | None:
    """The calendar date of a §4 date or date-time (any time part ignored)."""
    moment = parse_datetime(text)
    return None if moment is None else moment.date()


def parse_time(text: str) -> time | None:
    """A time of day alone: ``09:00``, ``9:34 am``, ``17:45:00``."""
    match = _TIME_ONLY.fullmatch(text.strip())
    if match is None:
        return None
    hours = int(match["h"])
    if match["ampm"]:
        twelve = _hour12(hours, match["ampm"][0].upper())
        if twelve is None:
            return None
        hours = twelve
    try:
        return time(hours, int(match["mi"]), int(match["s"] or 0))
    except ValueError:
        return None


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """An aware datetime in ``zone``: naive values are that zone's wall clock."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def format_request_datetime(moment: datetime) -> str:
    """A server-local wall-clock time as Unity writes it: ``3/4/2025 6:05:00 AM``."""
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {half}"
    )


def format_request_date(day: date) -> str:
    """``MM/DD/YYYY``, the GetSchedule ``Parameter1`` form."""
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


def _build(match: re.Match[str]) -> datetime | None:
    parts = match.groupdict()
    if parts.get("mon") is not None:
        month = _MONTHS.get(parts["mon"].lower())
        if month is None:
            return None
    else:
        month = int(parts["m"])
    hours: int | None = 0
    if parts["h"] is not None:
        hours = int(parts["h"])
        if parts["ampm"]:
            hours = _hour12(hours, parts["ampm"][0].upper())
    if hours is None:
        return None
    fraction = parts["f"] or ""
    micro = int((fraction + "000000")[:6]) if fraction else 0
    try:
        moment = datetime(
            int(parts["y"]),
            month,
            int(parts["d"]),
            hours,
            int(parts["mi"] or 0),
            int(parts["s"] or 0),
            micro,
        )
    except ValueError:
        return None
    offset = parts["tz"]
    if offset is None:
        return moment
    if offset == "Z":
        return moment.replace(tzinfo=UTC)
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if delta >= timedelta(hours=24):
        return None
    return moment.replace(tzinfo=timezone(sign * delta))


def _hour12(hour: int, half: str) -> int | None:
    if not 1 <= hour <= 12:
        return None
    return hour % 12 + (12 if half == "P" else 0)
