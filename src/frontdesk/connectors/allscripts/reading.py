"""One ``read`` of a Unity group: schedule rows joined with demographics, as a stream.

Per day of the window: one ``GetSchedule`` (``Parameter4=All``: every user's schedule; an
empty P4 would be the integration user's own, empty, schedule), rows turned into
appointments in the server's time zone, duplicates of an ``AppointmentID`` dropped. Each
patient's ``GetPatientDemographics`` is fetched once per read, by ``per_group`` workers in
schedule order, so demographics arrive ahead of the consumer while the integration's limit
is respected. Appointments are yielded in schedule order.

**Cursor.** ``{"v": 1, "window": [first, last], "server_time": ISO}`` where ``server_time``
is the server's clock (``GetServerInfo``) before the schedule was read. Given back for the
same window, the next read sends ``Parameter2`` (changed since) = that time minus
:data:`CURSOR_OVERLAP`, so only appointments changed since then come back. For any other
window, or an unreadable cursor, the read is full. The review-request ledger deduplicates,
so the overlap only costs a few rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

from frontdesk.connectors.allscripts import mapping
from frontdesk.connectors.allscripts.client import UnityClient
from frontdesk.connectors.allscripts.dates import format_request_datetime
from frontdesk.connectors.base import Appointment, CursorNotReady, Patient, Window
from frontdesk.logs import get_logger

log = get_logger(__name__)

CURSOR_VERSION = 1
CURSOR_OVERLAP = timedelta(minutes=10)


def encode_cursor(window: Window, server_time: datetime) -> str:
    """The cursor of a read of ``window`` that started at ``server_time`` (aware)."""
    return json.dumps(
        {
            "v": CURSOR_VERSION,
            "window": [window.first.isoformat(), window.last.isoformat()],
            "server_time": server_time.isoformat(),
        },
        separators=(",", ":"),
    )


def changed_since(cursor: str | None, window: Window) -> datetime | None:
    """The changed-since instant a cursor allows for ``window``, or ``None`` (full read)."""
    if not cursor:
        return None
    try:
        data = json.loads(cursor)
        if data.get("v") != CURSOR_VERSION:
            return None
        first, last = (date.fromisoformat(day) for day in data["window"])
        moment = datetime.fromisoformat(data["server_time"])
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("unity.cursor_unreadable")
        return None
    if (first, last) != (window.first, window.last) or moment.tzinfo is None:
        return None
    return moment - CURSOR_OVERLAP


class UnityAppointmentStream:
    """The async iterator ``UnityConnector.read`` returns (see the module docstring)."""

    def __init__(self, client: UnityClient, window: Window, cursor: str | None) -> None:
        self._client = client
        self._window = window
        self._given_cursor = cursor
        self._cursor: str | None = None
        self._done = False
        self._iterator: AsyncIterator[Appointment] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self.rejected: list[mapping.RejectedRow] = []
        """Rows that could not become appointments (ids and reasons only)."""
        self.duplicates = 0
        self.patients_fetched = 0
        self.full_read = cursor is None

    def __aiter__(self) -> UnityAppointmentStream:
        return self

    async def __anext__(self) -> Appointment:
        if self._iterator is None:
            self._iterator = self._run()
        return await anext(self._iterator)

    @property
    def cursor(self) -> str | None:
        if not self._done:
            raise CursorNotReady("the stream is not exhausted; there is no cursor to save")
        return self._cursor

    async def aclose(self) -> None:
        self._stop_workers()
        if self._iterator is not None:
            closer = getattr(self._iterator, "aclose", None)
            if closer is not None:
                await closer()

    async def _run(self) -> AsyncIterator[Appointment]:
        client = self._client
        info = await client.server_info()
        since = changed_since(self._given_cursor, self._window)
        self.full_read = since is None
        since_text = ""
        if since is not None:
            since_text = format_request_datetime(since.astimezone(info.zone).replace(tzinfo=None))
        new_cursor = (
            encode_cursor(self._window, info.server_time) if info.server_time is not None else None
        )
        patients: dict[str, asyncio.Future[Patient | None]] = {}
        queue: asyncio.Queue[str] = asyncio.Queue()
        seen: set[str] = set()
        try:
            for day in self._window.days():
                rows = await client.schedule(day, day, changed_since=since_text)
                appointments: list[Appointment] = []
                for row in rows:
                    item = mapping.appointment(row, info.zone)
                    if isinstance(item, mapping.RejectedRow):
                        self.rejected.append(item)
                        log.warning(
                            "unity.row_rejected",
                            appointment_id=item.appointment_id,
                            reason=item.reason,
                        )
                        continue
                    if item.source_appointment_id in seen:
                        self.duplicates += 1
                        continue
                    seen.add(item.source_appointment_id)
                    appointments.append(item)
                    pid = item.patient_id
                    if pid and pid not in patients:
                        patients[pid] = asyncio.get_running_loop().create_future()
                        queue.put_nowait(pid)
                self._start_workers(queue, patients)
                for item in appointments:
                    patient = await patients[item.patient_id] if item.patient_id else None
                    yield dataclasses.replace(item, patient=patient)
        finally:
            self._stop_workers()
            for future in patients.values():
                if future.done() and not future.cancelled():
                    future.exception()  # mark retrieved: the consumer has seen the failure
                elif not future.done():
                    future.cancel()
        self._cursor = new_cursor
        self._done = True

    def _start_workers(
        self, queue: asyncio.Queue[str], patients: dict[str, asyncio.Future[Patient | None]]
    ) -> None:
        if self._workers:
            return
        self._workers = [
            asyncio.create_task(self._fetch_patients(queue, patients))
            for _ in range(self._client.per_group_limit)
        ]

    def _stop_workers(self) -> None:
        for worker in self._workers:
            worker.cancel()
        self._workers = []

    async def _fetch_patients(
        self, queue: asyncio.Queue[str], patients: dict[str, asyncio.Future[Patient | None]]
    ) -> None:
        while True:
            pid = await queue.get()
            future = patients[pid]
            try:
                row = await self._client.patient_demographics(pid)
            except Exception as error:  # handed to the consumer, who re-raises it
                for pending in patients.values():
                    if not pending.done():
                        pending.set_exception(error)
                return
            self.patients_fetched += 1
            if not future.done():
                future.set_result(None if row is None else mapping.patient(row, pid))
