"""The roster of a synthetic enterprise: locations, practitioners, appointment types, statuses.

Rosters are small (even 200 locations is about a thousand practitioners) so they are built
whole when a credential's practice is first used. Appointments and patients are not: see
:mod:`frontdesk.sandbox.unity.practice` and :mod:`frontdesk.sandbox.unity.patients`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from frontdesk.sandbox.unity import names
from frontdesk.sandbox.unity.config import PracticeShape
from frontdesk.sandbox.unity.dice import seeded_random


@dataclass(frozen=True, slots=True)
class AppointmentStatus:
    """A PM appointment status: the letter PM stores and the description ``Status`` shows."""

    code: str
    description: str
    color: str
    weight: int


STATUSES = (
    AppointmentStatus("A", "Acknowledge", "green", 52),
    AppointmentStatus("C", "Confirmed", "blue", 16),
    AppointmentStatus("S", "Scheduled", "black", 10),
    AppointmentStatus("X", "Cancelled", "red", 9),
    AppointmentStatus("N", "No Show", "orange", 7),
    AppointmentStatus("B", "Bumped", "purple", 3),
    AppointmentStatus("W", "Wait Listed", "gray", 3),
)
"""The seven PM statuses (letters per the reference §3.3) with their synthetic frequencies."""


@dataclass(frozen=True, slots=True)
class AppointmentType:
    """A PM appointment type: ``appttype`` abbreviation, ``type`` description, length."""

    abbreviation: str
    description: str
    duration_minutes: int
    weight: int
    for_minors: bool = False


APPOINTMENT_TYPES = (
    AppointmentType("FOLLOWUP", "Follow-Up Visit", 15, 22),
    AppointmentType("SICK", "Sick Visit", 15, 16),
    AppointmentType("PHYSICAL", "Annual Physical", 30, 12),
    AppointmentType("NEWPT", "New Patient Visit", 45, 8),
    AppointmentType("TELEHLTH", "Telehealth Visit", 20, 8),
    AppointmentType("MEDWELL", "Medicare Annual Wellness", 45, 5),
    AppointmentType("IMMUNIZ", "Immunization Only", 15, 5),
    AppointmentType("LABONLY", "Lab Work Only", 15, 6),
    AppointmentType("PROC", "Office Procedure", 60, 4),
    AppointmentType("BEHAVHLT", "Behavioral Health Visit", 60, 4),
    AppointmentType("WELLBAB1", "Well Baby Visit 1", 30, 6, for_minors=True),
    AppointmentType("WELLCHLD", "Well Child Check", 30, 10, for_minors=True),
)


@dataclass(frozen=True, slots=True)
class Location:
    """A practice location; ``name`` is what ``LocationName`` carries."""

    index: int
    location_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Practitioner:
    """A scheduled practitioner (the schedule owner ``username`` in GetSchedule rows)."""

    practitioner_id: int
    first_name: str
    middle_initial: str
    last_name: str
    degree: str
    username: str
    location_index: int

    @property
    def provider_name(self) -> str:
        """Display name as in ``Provider``: ``Terry A Manning, MD``."""
        return f"{self.first_name} {self.middle_initial} {self.last_name}, {self.degree}"

    @property
    def practitioner_name(self) -> str:
        """PM list name as in ``Practitioner_Name``: ``Manning, Terry A``."""
        return f"{self.last_name}, {self.first_name} {self.middle_initial}"


@dataclass(frozen=True)
class Enterprise:
    """One credential's practice: its locations and the people and codes it schedules with."""

    enterprise_id: int
    name: str
    locations: tuple[Location, ...]
    practitioners: tuple[Practitioner, ...]
    appointment_types: tuple[AppointmentType, ...] = APPOINTMENT_TYPES
    statuses: tuple[AppointmentStatus, ...] = STATUSES
    _by_location: tuple[tuple[Practitioner, ...], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_location: list[list[Practitioner]] = [[] for _ in self.locations]
        for practitioner in self.practitioners:
            by_location[practitioner.location_index].append(practitioner)
        object.__setattr__(self, "_by_location", tuple(tuple(group) for group in by_location))

    def practitioners_at(self, location_index: int) -> tuple[Practitioner, ...]:
        """Practitioners whose schedules live at the location."""
        return self._by_location[location_index]

    def location_named(self, name: str) -> Location | None:
        """The location whose ``LocationName`` is ``name`` (exact), if any."""
        return next((loc for loc in self.locations if loc.name == name), None)


def build_enterprise(*, seed: int, service_user: str, shape: PracticeShape) -> Enterprise:
    """Build the enterprise roster of one credential, deterministically from the seed."""
    rng = seeded_random(seed, service_user, "enterprise")
    if shape.enterprise_name is not None:
        name = shape.enterprise_name
    else:
        name = f"{rng.choice(names.TOWNS)} {rng.choice(names.ENTERPRISE_NAMES)}"
    location_names = shape.location_names or _location_names(rng.random(), shape.locations)
    locations = tuple(
        Location(index=i, location_id=10 + i, name=loc_name)
        for i, loc_name in enumerate(location_names)
    )
    practitioners: list[Practitioner] = []
    usernames: set[str] = set()
    for location in locations:
        for _ in range(shape.practitioners_per_location):
            female = rng.random() < 0.55
            first = rng.choice(names.FEMALE_FIRST_NAMES if female else names.MALE_FIRST_NAMES)
            last = rng.choice(names.LAST_NAMES)
            username = _unique_username(first, last, usernames)
            practitioners.append(
                Practitioner(
                    practitioner_id=100 + len(practitioners),
                    first_name=first,
                    middle_initial=chr(ord("A") + rng.randrange(26)),
                    last_name=last,
                    degree=rng.choice(names.PRACTITIONER_DEGREES),
                    username=username,
                    location_index=location.index,
                )
            )
    enterprise_id = 1000 + seeded_random(seed, service_user, "enterprise-id").randrange(9000)
    return Enterprise(
        enterprise_id=enterprise_id,
        name=name,
        locations=locations,
        practitioners=tuple(practitioners),
    )


def _location_names(shuffle_key: float, count: int) -> list[str]:
    combos = [f"{town} {kind}" for kind in names.LOCATION_KINDS for town in names.TOWNS]
    seeded_random("location-names", shuffle_key).shuffle(combos)
    return [
        combos[i % len(combos)] + ("" if i < len(combos) else f" {i // len(combos) + 1}")
        for i in range(count)
    ]


def _unique_username(first: str, last: str, taken: set[str]) -> str:
    base = (first[0] + "".join(ch for ch in last if ch.isalpha())).lower()
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}{n}"
    taken.add(candidate)
    return candidate
