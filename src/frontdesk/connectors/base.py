"""The connector contract shared by every EHR: ``check`` → ``discover`` → ``read``.

A connector is built for one integration group by its source (:mod:`frontdesk.connectors.spec`)
and used for one task (a "Test connection" click, a discovery, a sync run), then closed
with :meth:`Connector.aclose`.

- :meth:`Connector.check` never raises for a remote failure: it returns a :class:`CheckResult`
  (ok / unauthorized / unreachable / missing permissions) for the "Test connection" button.
- :meth:`Connector.discover` lists what the source has used recently (locations,
  appointment types, statuses) so staff can map locations and fill allow-lists.
- :meth:`Connector.read` returns an :class:`AppointmentStream`: an async iterator of
  normalised :class:`Appointment` values, each with its :class:`Patient` when the source has
  one. After the stream is exhausted, ``stream.cursor`` is the cursor to store; the caller
  saves it only after its own transaction commits, and passes it to the next ``read``. A
  stream that raised or was not exhausted has no cursor (reading it raises), so a failed run
  never advances the cursor: nothing is lost. Cursors are opaque strings owned by the
  connector; ``None`` means "no cursor" (a full read of the window).

Errors are the :mod:`frontdesk.connectors.errors` tree (configuration / unauthorized /
transient / fatal); the connector classifies each failure once. No exception text and no
``repr`` of these values carries a secret or a patient field.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable

MAX_WINDOW_DAYS = 62
"""The longest window a single read accepts (a guard against unbounded pulls)."""


@dataclass(frozen=True)
class Guardian:
    """The person responsible for a patient (a minor's parent or guardian), as the source
    knows them: names and contacts, none of it in ``repr``. ``relation`` is the source's own
    word for it (e.g. ``Mother``, ``Child``), informational only."""

    first_name: str = field(default="", repr=False)
    last_name: str = field(default="", repr=False)
    email: str = field(default="", repr=False)
    cell_phone: str = field(default="", repr=False)
    home_phone: str = field(default="", repr=False)
    relation: str = field(default="", repr=False)


@dataclass(frozen=True)
class Patient:
    """A patient as the source knows it. Only the id shows in ``repr``.

    ``guardian`` is the person responsible for the patient when the source knows one and it
    is someone else (a minor's parent); a request about a minor's visit may go to them
    (docs/review-requests.md, "Minors and their guardians").
    """

    patient_id: str
    first_name: str = field(default="", repr=False)
    last_name: str = field(default="", repr=False)
    birth_date: date | None = field(default=None, repr=False)
    cell_phone: str = field(default="", repr=False)
    home_phone: str = field(default="", repr=False)
    email: str = field(default="", repr=False)
    guardian: Guardian | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Appointment:
    """One normalised appointment (a check-in candidate).

    ``start`` is timezone-aware in the source's zone. ``status`` and ``appointment_type``
    are the source's own codes, trimmed; ``patient`` is ``None`` when the source has no
    record for ``patient_id``.
    """

    source_appointment_id: str
    patient_id: str
    start: datetime
    status: str
    appointment_type: str
    location_name: str
    practitioner: str = ""
    appointment_type_description: str = ""
    patient: Patient | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Window:
    """An inclusive range of local calendar days to read (in the source's time zone)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("window last day is before its first day")
        if (self.last - self.first).days + 1 > MAX_WINDOW_DAYS:
            raise ValueError(f"window is longer than {MAX_WINDOW_DAYS} days")

    @classmethod
    def day(cls, day: date) -> Window:
        """A one-day window."""
        return cls(day, day)

    def days(self) -> Iterator[date]:
        """Every day of the window, in order."""
        for offset in range((self.last - self.first).days + 1):
            yield self.first + timedelta(days=offset)


class CheckStatus(enum.StrEnum):
    """Outcome of a connection test."""

    OK = "ok"
    UNAUTHORIZED = "unauthorized"
    UNREACHABLE = "unreachable"
    MISSING_PERMISSIONS = "missing_permissions"
    ACTIVATION_PENDING = "activation_pending"
    """The vendor has not activated our application for the client yet."""


@dataclass(frozen=True)
class CheckResult:
    """What "Test connection" shows. ``message`` never carries a secret.

    ``reason`` is machine-readable for unauthorized results (e.g. ``pm_password_expired``);
    ``server_timezone`` is the IANA zone, ``server_timezone_name`` the source's own name.
    """

    status: CheckStatus
    message: str
    server_version: str | None = None
    server_timezone: str | None = None
    server_timezone_name: str | None = None
    server_system: str | None = None
    missing_actions: tuple[str, ...] = ()
    reason: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is CheckStatus.OK


@dataclass(frozen=True)
class SeenValue:
    """A value seen during discovery, how often, and its description when the source has one."""

    value: str
    count: int
    description: str = ""

    @classmethod
    def ranked(
        cls, counts: Mapping[str, int], descriptions: Mapping[str, str] | None = None
    ) -> tuple[SeenValue, ...]:
        """Discovered values, most frequent first (ties by value), with their descriptions."""
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return tuple(
            cls(value, count, (descriptions or {}).get(value, "")) for value, count in ordered
        )


@dataclass(frozen=True)
class Discovery:
    """Locations, appointment types and statuses seen in a recent window."""

    window: Window
    appointments: int
    locations: tuple[SeenValue, ...]
    appointment_types: tuple[SeenValue, ...]
    statuses: tuple[SeenValue, ...]


class AppointmentStream(Protocol):
    """An async iterator of appointments whose ``cursor`` is valid once it is exhausted."""

    def __aiter__(self) -> AsyncIterator[Appointment]: ...

    async def __anext__(self) -> Appointment: ...

    @property
    def cursor(self) -> str | None:
        """The cursor to save after the caller commits; raises before exhaustion."""
        ...

    async def aclose(self) -> None:
        """Stop early; background work is cancelled and the cursor stays unavailable."""
        ...


@runtime_checkable
class Connector(Protocol):
    """One integration group's connection to an EHR."""

    async def check(self) -> CheckResult:
        """Test the connection and permissions; never raises for remote failures."""
        ...

    async def discover(self, today: date) -> Discovery:
        """Locations, appointment types and statuses seen over the 30 days up to ``today``."""
        ...

    def read(self, window: Window, cursor: str | None = None) -> AppointmentStream:
        """Appointments of ``window``; ``cursor`` from the previous committed run, or None."""
        ...

    def status_matches(self, allowed: Iterable[str], status: str) -> bool:
        """Whether ``status`` is one of the ``allowed`` statuses, in the source's own terms."""
        ...

    async def aclose(self) -> None:
        """Release the remote session and connections."""
        ...


class CursorNotReady(RuntimeError):
    """``stream.cursor`` was read before the stream was exhausted (or after it failed)."""
