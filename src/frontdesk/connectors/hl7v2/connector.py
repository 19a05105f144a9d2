"""The HL7 source's connector: a push source read from the message store.

Nothing is polled. The listener (:mod:`frontdesk.hl7.listener`) stores every message of the
group's sending facilities; :meth:`Hl7Connector.read` returns the latest state of each visit
with a message dated in the window (the last accepted message of the visit wins), so the sync
engine's schedules, fetch delay, rules, decision log, ledger and channels apply unchanged.
Cancellations, deletions and no-shows are read like any other state and are never eligible
(:data:`~frontdesk.connectors.hl7v2.mapping.NEVER_ELIGIBLE`). The cursor is unused: every
read is a full read of its window (the store is local and indexed by facility and day).

Errors: a stored message that no longer parses is skipped (it was accepted when received; a
key-ring problem is a :class:`~frontdesk.errors.FatalError` from the key ring).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, date, timedelta, tzinfo
from zoneinfo import ZoneInfo

from frontdesk.connectors.base import (
    Appointment,
    CheckResult,
    CheckStatus,
    CursorNotReady,
    Discovery,
    SeenValue,
    Window,
)
from frontdesk.connectors.hl7v2.mapping import NEVER_ELIGIBLE, visit_of
from frontdesk.hl7.message import Unreadable, header_of, parse
from frontdesk.hl7.models import Hl7Message
from frontdesk.hl7.store import MessageStore
from frontdesk.logs import get_logger

log = get_logger(__name__)


class Hl7Stream:
    """The appointments of one window, read from the store."""

    def __init__(self, connector: Hl7Connector, window: Window) -> None:
        self._connector = connector
        self._window = window
        self._iterator: AsyncIterator[Appointment] | None = None
        self._done = False

    def __aiter__(self) -> AsyncIterator[Appointment]:
        return self

    async def __anext__(self) -> Appointment:
        if self._iterator is None:
            self._iterator = self._connector.appointments(self._window)
        try:
            return await self._iterator.__anext__()
        except StopAsyncIteration:
            self._done = True
            raise

    @property
    def cursor(self) -> str | None:
        if not self._done:
            raise CursorNotReady("the HL7 stream was not read to its end")
        return None

    async def aclose(self) -> None:
        self._iterator = None


class Hl7Connector:
    """One integration group's view of the message store (its sending facilities)."""

    def __init__(self, store: MessageStore, *, facilities: Sequence[str], zone: tzinfo) -> None:
        self.store = store
        self.facilities = tuple(facilities)
        self.zone = zone

    async def check(self) -> CheckResult:
        """OK when messages of the group's facilities are stored (a warning when none yet)."""
        count, last = await self.store.summary(facilities=self.facilities)
        if not count:
            return CheckResult(
                CheckStatus.OK,
                "listening; no message from this sending facility has been accepted yet",
                server_system="HL7v2 over MLLP",
                warnings=("no message received yet",),
            )
        when = f", the last at {last:%Y-%m-%d %H:%M} UTC" if last is not None else ""
        return CheckResult(
            CheckStatus.OK,
            f"messages accepted from this sending facility: {count}{when}",
            server_system="HL7v2 over MLLP",
        )

    async def discover(self, today: date) -> Discovery:
        window = Window(today - timedelta(days=30), today)
        locations: Counter[str] = Counter()
        types: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        count = 0
        async for appointment in self.appointments(window):
            count += 1
            locations[appointment.location_name] += 1
            types[appointment.appointment_type] += 1
            statuses[appointment.status] += 1

        def seen(counter: Counter[str]) -> tuple[SeenValue, ...]:
            return tuple(SeenValue(v, n) for v, n in counter.most_common() if v)

        return Discovery(window, count, seen(locations), seen(types), seen(statuses))

    def read(self, window: Window, cursor: str | None = None) -> Hl7Stream:
        return Hl7Stream(self, window)

    async def appointments(self, window: Window) -> AsyncIterator[Appointment]:
        """The latest state of every visit dated in ``window`` (in the order received)."""
        rows = await self.store.latest_of_visits(
            facilities=self.facilities, first=window.first, last=window.last
        )
        for row in rows:
            appointment = self._appointment(row)
            if appointment is not None and window.first <= appointment.start.date() <= window.last:
                yield appointment

    def _appointment(self, row: Hl7Message) -> Appointment | None:
        try:
            message = parse(self.store.raw_text(row))
            visit = visit_of(message, header_of(message), self.zone)
        except (Unreadable, ValueError) as exc:
            log.warning("hl7.unreadable_stored", message_id=row.id, error_type=type(exc).__name__)
            return None
        return visit.appointment()

    def status_matches(self, allowed: Iterable[str], status: str) -> bool:
        """Case-insensitive membership; cancelled, deleted and no-show never match."""
        folded = status.strip().casefold()
        if folded in NEVER_ELIGIBLE:
            return False
        return folded in {a.strip().casefold() for a in allowed}

    async def aclose(self) -> None:
        return None


def zone_of(name: str | None) -> tzinfo:
    """The group's ``hl7.timezone`` (IANA), UTC when unset."""
    return ZoneInfo(name.strip()) if name and name.strip() else UTC
