"""A credential's synthetic practice: roster, patients and appointments generated per day.

``Practice.appointments_on(day)`` is the public way to know what the sandbox will serve: the
GetSchedule rows for ``day`` (with ``Parameter4=All`` and no other filter) are exactly these
appointments, in this order. A day is generated from its own random stream, per location, on
first use, and kept in a small cache bounded by a number of appointments, so a year of a
200-location enterprise never sits in memory. Appointment ids encode
``(day, location, sequence)`` and are unique within a practice. About a tenth of a
location's appointments (a third at a pediatric office) are well-baby visits (``WELLBAB1``)
of one of its newborns, drawn from a stream of their own; a drawn ``WELLBAB1`` for a child
of two or more becomes a well-child check.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from frontdesk.sandbox.unity.config import WINDOWS_TIME_ZONES, ClientCredential
from frontdesk.sandbox.unity.dice import seeded_random
from frontdesk.sandbox.unity.enterprise import (
    AppointmentStatus,
    AppointmentType,
    Enterprise,
    Location,
    Practitioner,
    build_enterprise,
)
from frontdesk.sandbox.unity.patients import Patient, PatientRegistry

ID_EPOCH = date(1900, 1, 1)
"""Days before this have no appointments; ids count days from it."""
DAY_OPENS = time(8, 0)
SLOT_MINUTES = 15
SLOTS_PER_DAY = 40  # 08:00 to 17:45
CACHED_APPOINTMENTS = 200_000
WELL_BABY_SHARE = 0.1
"""Of a location's appointments, about this share are well-baby visits (a baby, a parent)..."""
PEDIATRIC_WELL_BABY_SHARE = 0.35
"""... and this share at a location whose name says it is a pediatric office."""
_COMMENTS = ("Running late", "Needs interpreter", "Bring insurance card", "Prefers morning")


@dataclass(frozen=True, slots=True)
class Appointment:
    """One appointment. Times are the practice's local wall clock, without an offset."""

    appointment_id: int
    day: date
    start: datetime
    duration_minutes: int
    location: Location
    practitioner: Practitioner
    patient_id: int
    appointment_type: AppointmentType
    status: AppointmentStatus
    scheduled_at: datetime
    changed_at: datetime
    time_in: time | None
    time_out: time | None
    comment: str
    link_control_number: int


class Practice:
    """Everything the sandbox serves for one credential, derived from (seed, service user)."""

    def __init__(self, *, seed: int, credential: ClientCredential) -> None:
        shape = credential.practice
        self.seed = seed
        self.service_user = credential.service_user
        self.windows_time_zone = shape.time_zone
        self.time_zone = ZoneInfo(WINDOWS_TIME_ZONES[shape.time_zone])
        self.enterprise: Enterprise = build_enterprise(
            seed=seed, service_user=credential.service_user, shape=shape
        )
        self.patients = PatientRegistry(
            seed=seed,
            service_user=credential.service_user,
            enterprise=self.enterprise,
            patients_per_location=shape.patients_per_location,
            time_zone=shape.time_zone,
        )
        self._per_location = shape.appointments_per_location
        self._by_location = [
            self.enterprise.practitioners_at(loc.index) for loc in self.enterprise.locations
        ]
        per_day = self._per_location * len(self.enterprise.locations)
        self._cache_days = max(2, CACHED_APPOINTMENTS // per_day)
        self._days: OrderedDict[date, tuple[Appointment, ...]] = OrderedDict()

    def patient(self, patient_id: int) -> Patient | None:
        """The patient with this PM id, or ``None`` (GetPatientDemographics then answers [])."""
        return self.patients.get(patient_id)

    def appointments_on(self, day: date) -> tuple[Appointment, ...]:
        """All appointments of ``day`` at every location, ordered by location then time."""
        cached = self._days.get(day)
        if cached is not None:
            self._days.move_to_end(day)
            return cached
        appointments = tuple(
            appointment
            for location in self.enterprise.locations
            for appointment in self._location_day(day, location)
        )
        self._days[day] = appointments
        if len(self._days) > self._cache_days:
            self._days.popitem(last=False)
        return appointments

    def appointments_between(self, first: date, last: date) -> Iterator[Appointment]:
        """Appointments from ``first`` to ``last`` inclusive, one day generated at a time."""
        for offset in range((last - first).days + 1):
            yield from self.appointments_on(first + timedelta(days=offset))

    def appointment_count_on(self, day: date) -> int:
        """How many appointments ``day`` has (without generating them)."""
        return self._count_per_location(day) * len(self.enterprise.locations)

    def _count_per_location(self, day: date) -> int:
        if day < ID_EPOCH:
            return 0
        divisor = {5: 3, 6: 6}.get(day.weekday(), 1)
        return max(1, self._per_location // divisor)

    def _location_day(self, day: date, location: Location) -> list[Appointment]:
        count = self._count_per_location(day)
        if count == 0:
            return []
        rng = seeded_random(self.seed, self.service_user, "day", day.isoformat(), location.index)
        practitioners = self._by_location[location.index]
        drafts = sorted(
            (rng.randrange(SLOTS_PER_DAY), rng.randrange(len(practitioners))) for _ in range(count)
        )
        base_id = 1 + ((day - ID_EPOCH).days * len(self.enterprise.locations) + location.index)
        types = self.enterprise.appointment_types
        type_weights = [t.weight for t in types]
        well_baby, well_child = types[-2], types[-1]
        babies = seeded_random(
            self.seed, self.service_user, "babies", day.isoformat(), location.index
        )
        pediatric = "pediatric" in location.name.casefold()
        baby_share = PEDIATRIC_WELL_BABY_SHARE if pediatric else WELL_BABY_SHARE
        statuses = self.enterprise.statuses
        status_weights = [s.weight for s in statuses]
        opens = datetime.combine(day, DAY_OPENS)
        appointments: list[Appointment] = []
        for sequence, (slot, practitioner_index) in enumerate(drafts, start=1):
            home = location.index if rng.random() >= 0.08 else rng.randrange(len(self._by_location))
            patient_id = self.patients.id_at(home, rng.randrange(self._per_location_patients))
            patient = self.patients.get(patient_id)
            assert patient is not None
            kind = rng.choices(types, type_weights)[0]
            minor = patient.age_on(day) < 18
            if kind.for_minors and not minor:
                kind = types[0]
            elif minor and not kind.for_minors and rng.random() < 0.4:
                kind = well_child if patient.age_on(day) >= 2 else well_baby
            if kind is well_baby and patient.age_on(day) >= 2:
                kind = well_child  # a well-baby visit is for a baby
            status = rng.choices(statuses, status_weights)[0]
            # well-baby visits: their own stream, so the other rows stay as they were
            if babies.random() < baby_share:
                baby = self.patients.baby_for(location.index, day, babies.random())
                if baby is not None:
                    patient_id, kind = baby, well_baby
            start = opens + timedelta(minutes=slot * SLOT_MINUTES)
            scheduled_at = start - timedelta(days=rng.randrange(1, 61), minutes=rng.randrange(600))
            appointments.append(
                Appointment(
                    appointment_id=base_id * 1000 + sequence,
                    day=day,
                    start=start,
                    duration_minutes=kind.duration_minutes,
                    location=location,
                    practitioner=practitioners[practitioner_index],
                    patient_id=patient_id,
                    appointment_type=kind,
                    status=status,
                    scheduled_at=scheduled_at,
                    changed_at=_changed_at(rng.random(), status.code, scheduled_at, start),
                    time_in=(start - timedelta(minutes=rng.randrange(16))).time()
                    if status.code == "A"
                    else None,
                    time_out=(start + timedelta(minutes=kind.duration_minutes + 5)).time()
                    if status.code == "A" and rng.random() < 0.7
                    else None,
                    comment=rng.choice(_COMMENTS) if rng.random() < 0.1 else "",
                    link_control_number=rng.randrange(100_000, 1_000_000),
                )
            )
        return appointments

    @property
    def _per_location_patients(self) -> int:
        return self.patients.size // len(self.enterprise.locations)


def _changed_at(fraction: float, code: str, scheduled_at: datetime, start: datetime) -> datetime:
    """When the appointment row last changed: booking, confirmation, check-in or cancellation."""
    if code == "S":
        return scheduled_at
    if code == "A":
        return start - timedelta(minutes=int(fraction * 15))
    return scheduled_at + (start - scheduled_at) * (0.5 + fraction / 2) - timedelta(hours=1)
