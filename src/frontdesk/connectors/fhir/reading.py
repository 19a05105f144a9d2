"""One ``read`` of a FHIR group: Appointment search pages joined with their patients.

``Appointment?date=ge{first}&date=lt{last+1}&_count={page_size}`` — plus
``_include=Appointment:patient`` (and ``Appointment:location`` when the group matches
locations by name) where the CapabilityStatement lists them — then ``Bundle.link[next]`` to
the end. The next page is requested as soon as a page has arrived, so the server's latency
overlaps our parsing. Patients the page did not include are read in batches of
``Patient?_id=a,b,c`` (concurrently, within the integration's limit), each once per read.
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
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from frontdesk.connectors.base import Appointment, CursorNotReady, Patient, Window
from frontdesk.connectors.fhir import mapping
from frontdesk.connectors.fhir.client import FhirClient, Page
from frontdesk.logs import get_logger

log = get_logger(__name__)


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
        self._prefetch: asyncio.Task[Page] | None = None
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
        self._cancel_prefetch()
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
        try:
            self._capabilities = await self._capabilities_of()
            page: Page | None = await self._client.search("Appointment", self.params())
            while page is not None:
                self.pages += 1
                if page.next_url is not None:
                    self._prefetch = asyncio.create_task(self._client.page(page.next_url))
                    await asyncio.sleep(0)  # let it send its request before we parse this page
                visits = self._split(page, patients, locations)
                if self._with_patients:
                    wanted = {v.appointment.patient_id for v in visits} - patients.keys()
                    await self._fetch_patients(wanted, patients)
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
                page = await self._prefetch if self._prefetch is not None else None
                self._prefetch = None
        finally:
            self._cancel_prefetch()
        self._done = True

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

    def _cancel_prefetch(self) -> None:
        task, self._prefetch = self._prefetch, None
        if task is not None and not task.done():
            task.cancel()
        elif task is not None and not task.cancelled():
            task.exception()  # retrieved: the failure (if any) was the consumer's to see
