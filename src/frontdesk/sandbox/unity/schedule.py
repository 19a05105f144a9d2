"""GetSchedule: reading its parameters and filtering a practice's appointments.

Parameters (reference §3.3): P1 a date or ``start|end`` (``MM/DD/YYYY``, leading zeros
optional; ISO ``YYYY-MM-DD`` also accepted); P2 changed-since (date or date and time); P3
``Y`` to include pictures; P4 a user, ``user1|user2`` or ``All`` (empty = the ``AppUserID``'s
own schedule); P5 appointment types (``appttype`` abbreviations, pipe-delimited); P6
statuses (descriptions or PM letters, pipe-delimited; empty or ``All`` = every status).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from frontdesk.sandbox.unity.practice import Appointment, Practice
from frontdesk.sandbox.unity.rows import Row, schedule_row
from frontdesk.sandbox.unity.wire import VARCHAR_TO_DATETIME, MagicRequest

_MDY = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$",
    re.ASCII,
)


class ConversionError(Exception):
    """A parameter SQL Server could not convert; the message is the wire error text."""


def parse_request_date(text: str) -> date:
    """A request date: ``M/D/YYYY`` or ``YYYY-MM-DD`` (a time part is ignored)."""
    return parse_request_datetime(text).date()


def parse_request_datetime(text: str, zone: ZoneInfo | None = None) -> datetime:
    """A request date or date-time as local wall time (offsets converted to ``zone``)."""
    value = text.strip()
    match = _MDY.match(value)
    try:
        if match:
            month, day, year, hour, minute, second, half = match.groups()
            hours = int(hour or 0)
            if half is not None:
                if not 1 <= hours <= 12:
                    raise ValueError(value)
                hours = hours % 12 + (12 if half.upper() == "PM" else 0)
            return datetime(
                int(year), int(month), int(day), hours, int(minute or 0), int(second or 0)
            )
        if not value.isascii():
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConversionError(VARCHAR_TO_DATETIME) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


def _pipe_list(text: str) -> frozenset[str] | None:
    """Lower-case members of a pipe list; ``None`` when empty or ``All`` (no filter)."""
    items = frozenset(part.strip().lower() for part in text.split("|") if part.strip())
    return None if not items or "all" in items else items


@dataclass(frozen=True, slots=True)
class ScheduleQuery:
    """The filters of one GetSchedule call."""

    first: date
    last: date
    changed_since: datetime | None
    picture: bool
    users: frozenset[str] | None
    types: frozenset[str] | None
    statuses: frozenset[str] | None

    @classmethod
    def from_request(cls, request: MagicRequest, *, today: date, zone: ZoneInfo) -> ScheduleQuery:
        """Read the parameters; raises :class:`ConversionError` on an unreadable date."""
        p1 = request.parameter(1).strip()
        if not p1:
            first = last = today
        else:
            start, _, end = p1.partition("|")
            first = parse_request_date(start)
            last = parse_request_date(end) if end.strip() else first
        p2 = request.parameter(2).strip()
        p4 = request.parameter(4).strip()
        own = request.app_user_id.strip().lower()
        return cls(
            first=first,
            last=last,
            changed_since=parse_request_datetime(p2, zone) if p2 else None,
            picture=request.parameter(3).strip().upper() == "Y",
            users=_pipe_list(p4) if p4 else frozenset({own}),
            types=_pipe_list(request.parameter(5)),
            statuses=_pipe_list(request.parameter(6)),
        )

    def admits(self, appointment: Appointment) -> bool:
        """Whether the appointment passes the user, type, status and changed-since filters."""
        if self.users is not None and appointment.practitioner.username not in self.users:
            return False
        kind = appointment.appointment_type.abbreviation.lower()
        if self.types is not None and kind not in self.types:
            return False
        status = appointment.status
        if self.statuses is not None and not (
            status.description.lower() in self.statuses or status.code.lower() in self.statuses
        ):
            return False
        return self.changed_since is None or appointment.changed_at > self.changed_since


def schedule_rows(practice: Practice, query: ScheduleQuery) -> Iterator[Row]:
    """The reply rows, generated one day at a time (never the whole range in memory)."""
    enterprise = practice.enterprise
    for appointment in practice.appointments_between(query.first, query.last):
        if query.admits(appointment):
            patient = practice.patient(appointment.patient_id)
            assert patient is not None
            yield schedule_row(appointment, patient, enterprise, picture=query.picture)
