"""The sandbox's resources: Locations, Patients and Appointments, synthetic or added.

Synthetic practices come from the seed: ``practices × locations_per_practice`` Locations,
a pool of Patients (most with a mobile, many with an e-mail, a few minors, a few with no
contact at all) and, for any day asked about, ``appointments_per_location_day`` Appointments
per Location, drawn from ``(seed, day)`` so a day's schedule is the same on every read and
in every process. Statuses follow a realistic mix: mostly ``fulfilled``, some ``noshow``,
``cancelled``, ``arrived``, ``checked-in``, ``booked`` and a rare ``entered-in-error``.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from frontdesk.sandbox.fhir.config import PracticeShape

STATUSES = (
    ("fulfilled", 70),
    ("noshow", 7),
    ("cancelled", 9),
    ("arrived", 4),
    ("checked-in", 3),
    ("booked", 6),
    ("entered-in-error", 1),
)
TYPES = (
    ("ROUTINE", "Routine appointment"),
    ("FOLLOWUP", "A follow up visit"),
    ("WALKIN", "A previously unscheduled walk-in visit"),
    ("CHECKUP", "A routine check-up"),
    ("BEHAVHLT", "Behavioural health"),
)
TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0276"
GIVEN = ("Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kim", "Lea")
FAMILY = ("Abbott", "Brooks", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito")
CLINICS = ("North", "South", "East", "West", "Harbor", "Hill", "Lake", "Park", "River")


class Store:
    """Resources by type and id; appointments of a day are generated on first use."""

    def __init__(self, seed: int, shape: PracticeShape, *, synthetic: bool = True) -> None:
        self.seed = seed
        self.shape = shape
        self.synthetic = synthetic
        self.zone = ZoneInfo(shape.timezone)
        self.locations: dict[str, dict[str, Any]] = {}
        self.patients: dict[str, dict[str, Any]] = {}
        self.appointments: dict[str, dict[str, Any]] = {}
        self._starts: dict[str, datetime] = {}
        self._days: set[date] = set()
        self.memo: dict[object, list[dict[str, Any]]] = {}
        """Search results by query (paging re-runs the same search); emptied on change."""
        if synthetic:
            self._practices()

    # -- adding ---------------------------------------------------------------------------

    def add(self, resource: dict[str, Any]) -> None:
        """Add or replace one Location, Patient or Appointment."""
        kind, rid = resource["resourceType"], str(resource["id"])
        self.memo.clear()
        if kind == "Location":
            self.locations[rid] = resource
        elif kind == "Patient":
            self.patients[rid] = resource
        elif kind == "Appointment":
            self.appointments[rid] = resource
            if resource.get("start"):
                self._starts[rid] = datetime.fromisoformat(resource["start"])
        else:
            raise ValueError(f"the sandbox keeps no {kind}")

    def start_of(self, appointment_id: str) -> datetime | None:
        return self._starts.get(appointment_id)

    def ensure_days(self, first: date, last: date) -> None:
        """Generate the synthetic schedule of each day in ``[first, last]`` not yet made."""
        if not self.synthetic or (last - first).days > 400:
            return
        day = first
        while day <= last:
            if day not in self._days:
                self._days.add(day)
                self._schedule(day)
            day += timedelta(days=1)

    # -- synthetic data ---------------------------------------------------------------------

    def _practices(self) -> None:
        rng = random.Random(f"{self.seed}:practices")
        for p in range(self.shape.practices):
            for n in range(self.shape.locations_per_practice):
                lid = f"loc-{p + 1}-{n + 1}"
                clinic = CLINICS[(p * self.shape.locations_per_practice + n) % len(CLINICS)]
                self.add(
                    {
                        "resourceType": "Location",
                        "id": lid,
                        "status": "active",
                        "name": f"{clinic} Clinic" + (f" {p + 1}" if p else ""),
                        "mode": "instance",
                    }
                )
        for i in range(self.shape.patients):
            self.add(_patient(f"pat-{i + 1}", rng))

    def _schedule(self, day: date) -> None:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        statuses = [s for s, _ in STATUSES]
        weights = [w for _, w in STATUSES]
        patients = sorted(self.patients)
        for lid, location in sorted(self.locations.items()):
            for k in range(self.shape.appointments_per_location_day):
                code, display = TYPES[rng.randrange(len(TYPES))]
                minute = 8 * 60 + (k * 600) // max(self.shape.appointments_per_location_day, 1)
                start = datetime.combine(day, time(minute // 60, minute % 60), self.zone)
                pid = patients[rng.randrange(len(patients))]
                self.add(
                    appointment(
                        f"appt-{day:%Y%m%d}-{lid}-{k + 1}",
                        start=start,
                        status=rng.choices(statuses, weights)[0],
                        type_code=code,
                        type_display=display,
                        patient_id=pid,
                        location_id=lid,
                        location_display=str(location["name"]),
                    )
                )


def appointment(
    appointment_id: str,
    *,
    start: datetime,
    status: str,
    patient_id: str,
    location_id: str | None,
    type_code: str = "ROUTINE",
    type_display: str = "Routine appointment",
    location_display: str = "",
    minutes: int = 20,
) -> dict[str, Any]:
    """An R4 Appointment resource (a helper for tests and the generator)."""
    participant: list[dict[str, Any]] = [
        {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
        {
            "actor": {"reference": "Practitioner/pr-1", "display": "Dr. Rivera"},
            "status": "accepted",
        },
    ]
    if location_id:
        actor = {"reference": f"Location/{location_id}"}
        if location_display:
            actor["display"] = location_display
        participant.append({"actor": actor, "status": "accepted"})
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
        "status": status,
        "appointmentType": {
            "coding": [{"system": TYPE_SYSTEM, "code": type_code, "display": type_display}]
        },
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "participant": participant,
    }


def patient(
    patient_id: str,
    *,
    given: str = "Ann",
    family: str = "Abbott",
    birth_date: date | None = date(1970, 1, 1),
    mobile: str | None = None,
    email: str | None = None,
    home: str | None = None,
) -> dict[str, Any]:
    """An R4 Patient resource (a helper for tests and the generator)."""
    telecom: list[dict[str, Any]] = []
    if mobile:
        telecom.append({"system": "phone", "value": mobile, "use": "mobile"})
    if home:
        telecom.append({"system": "phone", "value": home, "use": "home"})
    if email:
        telecom.append({"system": "email", "value": email, "use": "home"})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
    }
    if telecom:
        resource["telecom"] = telecom
    if birth_date is not None:
        resource["birthDate"] = birth_date.isoformat()
    return resource


def _patient(pid: str, rng: random.Random) -> dict[str, Any]:
    number = int(pid.rsplit("-", 1)[1])
    minor = rng.random() < 0.05
    year = rng.randrange(2010, 2020) if minor else rng.randrange(1940, 2004)
    contact = rng.random()
    mobile = f"+1571555{number % 10000:04d}" if contact < 0.85 else None
    email = f"patient{number}@example.org" if 0.2 < contact < 0.95 else None
    return patient(
        pid,
        given=GIVEN[rng.randrange(len(GIVEN))],
        family=FAMILY[rng.randrange(len(FAMILY))],
        birth_date=date(year, rng.randrange(1, 13), rng.randrange(1, 29)),
        mobile=mobile,
        email=email,
    )
