"""One ``read`` of a FHIR group: Appointment search pages joined with their patients.

``Appointment?date=ge{first}&date=lt{last+1}&_count={page_size}`` — plus
``_include=Appointment:patient`` (and ``Appointment:location`` when the group matches
locations by name) where the CapabilityStatement lists them — then ``Bundle.link[next]`` to
the end. A pager task follows the ``next`` links as fast as the server answers: each page's
successor is requested before the page is parsed, and up to :data:`PAGES_AHEAD` parsed pages
wait for the consumer, so neither our parsing nor the patient reads lengthen the chain of
page requests. Patients a page did not include are read in batches of
``Patient?_id=a,b,c`` (concurrently, within the integration's limit) as soon as the page is
parsed, each patient once per read; the consumer waits for a page's batches only when it
reaches that page.
Appointments repeated across pages (the schedule changed while we paged) are yielded once.

``location_name`` is the participant ``Location``'s id, or — when the group's match key is
``fhir.location.name`` — the included Location's ``name`` (else the reference's display).

**Cursor.** None: every read of a window is a full read (FHIR's ``_lastUpdated`` would
miss appointments whose status changed without a new version on some servers — inferred,
see docs/fhir.md); the review-request ledger deduplicates.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from frontdesk.connectors.base import Appointment, CursorNotReady, Patient, Window
from frontdesk.connectors.fhir import mapping
from frontdesk.connectors.fhir.client import FhirClient, Page
from frontdesk.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")
PAGES_AHEAD = 2
"""Parsed pages waiting for the consumer before the pager stops following links."""
_Parsed = tuple[list[mapping.Visit], "asyncio.Task[None] | None"]


@dataclass(frozen=True)
class Capabilities:
    """What the server's CapabilityStatement says about Appointment searches."""

    include_patient: bool = False
    include_location: bool = False
    software: str = ""
    version: str = ""

    @classmethod
    def of(cls, statement: dict[str, object]) -> Capabilities:
        includes: set[str] = set()
        for rest in _list(statement.get("rest")):
            for resource in _list(rest.get("resource")):
                found = resource.get("searchInclude")
                if resource.get("type") == "Appointment" and isinstance(found, list):
                    includes.update(str(i) for i in found)
        software = statement.get("software")
        name = version = ""
        if isinstance(software, dict):
            name, version = str(software.get("name") or ""), str(software.get("version") or "")
        return cls(
            include_patient="Appointment:patient" in includes,
            include_location="Appointment:location" in includes,
            software=name,
            version=version,
        )


def _list(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class FhirAppointmentStream:
    """The async iterator ``FhirConnector.read`` returns (see the module docstring)."""

    def __init__(
        self,
        client: FhirClient,
        window: Window,
        capabilities: Callable[[], Awaitable[Capabilities]],
        *,
        by_name: bool,
        with_patients: bool = True,
    ) -> None:
        self._client = client
        self._window = window
        self._capabilities_of = capabilities
        self._capabilities = Capabilities()
        self._by_name = by_name
        self._with_patients = with_patients
        self._done = False
        self._iterator: AsyncGenerator[Appointment, None] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.rejected: list[mapping.Rejected] = []
        self.duplicates = 0
        self.pages = 0
        self.patient_batches = 0

    def __aiter__(self) -> FhirAppointmentStream:
        return self

    async def __anext__(self) -> Appointment:
        if self._iterator is None:
            self._iterator = self._run()
        return await anext(self._iterator)

    @property
    def cursor(self) -> str | None:
        if not self._done:
            raise CursorNotReady("the stream is not exhausted; there is no cursor to save")
        return None

    async def aclose(self) -> None:
        self._stop_tasks()
        if self._iterator is not None:
            await self._iterator.aclose()

    def params(self) -> list[tuple[str, str]]:
        """The first page's search parameters."""
        window, config = self._window, self._client.config
        params = [
            ("date", f"ge{window.first.isoformat()}"),
            ("date", f"lt{(window.last + timedelta(days=1)).isoformat()}"),
            ("_count", str(config.page_size)),
        ]
        if self._with_patients and self._capabilities.include_patient:
            params.append(("_include", "Appointment:patient"))
        if self._by_name and self._capabilities.include_location:
            params.append(("_include", "Appointment:location"))
        return params

    async def _run(self) -> AsyncGenerator[Appointment, None]:
        patients: dict[str, Patient | None] = {}
        locations: dict[str, str] = {}
        seen: set[str] = set()
        queue: asyncio.Queue[_Parsed | Exception | None] = asyncio.Queue(maxsize=PAGES_AHEAD)
        try:
            self._capabilities = await self._capabilities_of()
            self._spawn(self._page_ahead(queue, patients, locations))
            while (parsed := await queue.get()) is not None:
                if isinstance(parsed, Exception):
                    raise parsed
                visits, lookups = parsed
                if lookups is not None:
                    await lookups
                for item in visits:
                    appointment = item.appointment
                    if appointment.source_appointment_id in seen:
                        self.duplicates += 1
                        continue
                    seen.add(appointment.source_appointment_id)
                    yield dataclasses.replace(
                        appointment,
                        location_name=self._location(item, locations),
                        patient=patients.get(appointment.patient_id),
                    )
        finally:
            self._stop_tasks()
        self._done = True

    async def _page_ahead(
        self,
        queue: asyncio.Queue[_Parsed | Exception | None],
        patients: dict[str, Patient | None],
        locations: dict[str, str],
    ) -> None:
        """Follow the ``next`` links as fast as the server answers (up to ``PAGES_AHEAD``
        parsed pages ahead of the consumer), starting each page's patient reads at once."""
        requested: set[str] = set()
        try:
            page = await self._client.search("Appointment", self.params())
            while True:
                self.pages += 1
                following = self._spawn(self._client.page(page.next_url)) if page.next_url else None
                await asyncio.sleep(0)  # let it send its request before this page is parsed
                visits = self._split(page, patients, locations)
                lookups = None
                if self._with_patients:
                    wanted = {v.appointment.patient_id for v in visits} - patients.keys()
                    wanted -= requested
                    wanted.discard("")
                    requested |= wanted
                    if wanted:
                        lookups = self._spawn(self._fetch_patients(wanted, patients))
                await queue.put((visits, lookups))
                if following is None:
                    break
                page = await following
        except Exception as error:  # handed to the consumer, who raises it
            await queue.put(error)
            return
        await queue.put(None)

    def _spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.create_task(work)
        self._tasks.append(task)
        return task

    def _stop_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: a failure reached the consumer or did not matter

    def _split(
        self, page: Page, patients: dict[str, Patient | None], locations: dict[str, str]
    ) -> list[mapping.Visit]:
        visits: list[mapping.Visit] = []
        for resource in page.resources:
            kind = resource.get("resourceType")
            if kind == "Appointment":
                item = mapping.visit(resource)
                if isinstance(item, mapping.Rejected):
                    self._reject(item)
                else:
                    visits.append(item)
            elif kind == "Patient":
                found = mapping.patient(resource)
                if isinstance(found, mapping.Rejected):
                    self._reject(found)
                else:
                    patients[found.patient_id] = found
            elif kind == "Location":
                place = mapping.location_name(resource)
                if place is not None and place[1]:
                    locations[place[0]] = place[1]
        return visits

    def _reject(self, item: mapping.Rejected) -> None:
        self.rejected.append(item)
        log.warning("fhir.resource_rejected", resource_id=item.resource_id, reason=item.reason)

    def _location(self, item: mapping.Visit, locations: dict[str, str]) -> str:
        if not self._by_name:
            return item.location_id
        return locations.get(item.location_id) or item.location_display or item.location_id

    async def _fetch_patients(self, wanted: set[str], patients: dict[str, Patient | None]) -> None:
        ids = sorted(pid for pid in wanted if pid)
        size = self._client.config.patient_batch
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        pages = await asyncio.gather(
            *(
                self._client.search("Patient", [("_id", ",".join(b)), ("_count", str(len(b)))])
                for b in batches
            )
        )
        self.patient_batches += len(batches)
        for found in pages:
            for resource in found.resources:
                if resource.get("resourceType") != "Patient":
                    continue
                item = mapping.patient(resource)
                if isinstance(item, mapping.Rejected):
                    self._reject(item)
                else:
                    patients[item.patient_id] = item
        for pid in ids:
            patients.setdefault(pid, None)  # the server has no such patient: asked once
