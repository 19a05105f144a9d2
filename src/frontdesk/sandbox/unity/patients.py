"""Synthetic patients, generated one at a time from their id.

A practice has ``patients_per_location × locations`` patients. Patient ``k`` of location
``L`` has index ``k × locations + L`` and id ``FIRST_PATIENT_ID + index``, so any patient can
be produced directly from its id, in microseconds, without the others. Realistic gaps are
built in: no e-mail, no cell phone, no phone at all, minors (with a parent as guarantor,
whose e-mail is sometimes missing too; a child under 13 has no e-mail or cell phone of their
own), names keyed in with trailing blanks. Contacts are
fictional (555-01xx, ``example.*``).

Newborns join the practice every day: after the registered patients come the babies, one
born per location per day from :data:`BIRTHS_FROM` on (newborn ``n`` of location ``L`` has
index ``size + n × locations + L``), so whatever day the sandbox serves, the practice has
babies under two for its well-baby visits (:meth:`PatientRegistry.baby_for`). A baby has no
e-mail or cell phone of their own; their parent, the guarantor, always has both.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date, timedelta

from frontdesk.sandbox.unity import names
from frontdesk.sandbox.unity.dice import BitDraws
from frontdesk.sandbox.unity.enterprise import Enterprise, Practitioner

FIRST_PATIENT_ID = 10001
AGE_REFERENCE_DATE = date(2025, 1, 1)
"""Birth dates are drawn as ages on this date, so minors stay minors for years of sandbox time."""
BIRTHS_FROM = date(2000, 1, 1)
"""The first newborn's birthday (one a day per location from then on)."""
BIRTHS_UNTIL = date(2100, 1, 1)
"""No newborn is born on or after this day (it bounds the ids)."""
BABY_MIN_DAYS, BABY_MAX_DAYS = 7, 700
"""A well-baby visit's baby is this many days old, at least and at most (under two)."""
GUARANTOR_NO_EMAIL = 0.3
"""How often the guarantor of a minor of two or more has no e-mail on file (a baby's, one who
may come for well-baby visits, always has one)."""
OWN_CONTACT_AGE = 13
"""Children younger than this (on :data:`AGE_REFERENCE_DATE`) have no e-mail or cell phone
of their own."""

_ZONE_PLACES = {
    "Eastern Standard Time": ("VA", ("703", "571")),
    "Central Standard Time": ("IL", ("312", "773")),
    "Mountain Standard Time": ("CO", ("303", "720")),
    "US Mountain Standard Time": ("AZ", ("602", "480")),
    "Pacific Standard Time": ("CA", ("415", "510")),
    "Alaskan Standard Time": ("AK", ("907",)),
    "Hawaiian Standard Time": ("HI", ("808",)),
}


@dataclass(frozen=True, slots=True)
class Guarantor:
    """The parent responsible for a minor's account."""

    first_name: str
    middle_initial: str
    last_name: str
    birth_date: date
    relation: str
    cell_phone: str
    email: str


@dataclass(frozen=True, slots=True)
class Patient:
    """A PM patient. String fields keep any trailing blanks exactly as the wire will show."""

    patient_id: int
    home_location_index: int
    first_name: str
    middle_initial: str
    last_name: str
    suffix: str
    sex: str
    birth_date: date
    mrn: str
    home_phone: str
    work_phone: str
    cell_phone: str
    email: str
    street1: str
    street2: str
    city: str
    state: str
    zip_code: str
    marital_status: str
    race: str
    ethnicity: str
    language: str
    employer: str
    emergency_contact: str
    emergency_relation: str
    primary_care: Practitioner
    guarantor: Guarantor | None

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday


class PatientRegistry:
    """All patients of one practice, produced on demand and kept in a bounded cache."""

    def __init__(
        self,
        *,
        seed: int,
        service_user: str,
        enterprise: Enterprise,
        patients_per_location: int,
        time_zone: str,
        cache_size: int = 20_000,
    ) -> None:
        self._key = (seed, service_user, "patient")
        self._enterprise = enterprise
        self._locations = len(enterprise.locations)
        self.size = patients_per_location * self._locations
        self._state, self._area_codes = _ZONE_PLACES[time_zone]
        self._cache: OrderedDict[int, Patient] = OrderedDict()
        self._cache_size = cache_size

    def id_at(self, location_index: int, k: int) -> int:
        """Id of the ``k``-th patient whose home is the location."""
        return FIRST_PATIENT_ID + k * self._locations + location_index

    def baby_for(self, location_index: int, day: date, pick: float) -> int | None:
        """Id of a newborn of the location who is a baby on ``day`` (between
        :data:`BABY_MIN_DAYS` and :data:`BABY_MAX_DAYS` old): ``pick`` in [0, 1) chooses
        which; ``None`` before there are any."""
        first = max((day - BIRTHS_FROM).days - BABY_MAX_DAYS, 0)
        last = min((day - BIRTHS_FROM).days - BABY_MIN_DAYS, self._births - 1)
        if last < first:
            return None
        n = first + int(pick * (last - first + 1))
        return FIRST_PATIENT_ID + self.size + n * self._locations + location_index

    @property
    def _births(self) -> int:
        return (BIRTHS_UNTIL - BIRTHS_FROM).days

    def get(self, patient_id: int) -> Patient | None:
        """The patient with this id, or ``None`` when the practice has no such patient."""
        index = patient_id - FIRST_PATIENT_ID
        if not 0 <= index < self.size + self._births * self._locations:
            return None
        patient = self._cache.get(patient_id)
        if patient is None:
            if index < self.size:
                patient = self._generate(patient_id, index)
            else:
                patient = self._newborn(patient_id, index)
            self._cache[patient_id] = patient
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return patient

    def _newborn(self, patient_id: int, index: int) -> Patient:
        """A baby born on their day: no contact of their own, a parent with both."""
        n = (index - self.size) // self._locations
        draws = BitDraws(*self._key, "newborn", patient_id)
        born = BIRTHS_FROM + timedelta(days=n)
        baby = self._generate(patient_id, index, draws=draws, birth_date=born)
        return replace(baby, email="", cell_phone="", work_phone="", employer="")

    def _generate(
        self,
        patient_id: int,
        index: int,
        *,
        draws: BitDraws | None = None,
        birth_date: date | None = None,
    ) -> Patient:
        newborn = draws is not None
        draws = draws or BitDraws(*self._key, patient_id)
        sex = "F" if draws.chance(0.52) else "M"
        first = draws.pick(names.FEMALE_FIRST_NAMES if sex == "F" else names.MALE_FIRST_NAMES)
        last = draws.pick(names.LAST_NAMES)
        if birth_date is None:
            birth_date = AGE_REFERENCE_DATE - timedelta(days=_age_in_days(draws))
        minor = newborn or birth_date > AGE_REFERENCE_DATE - timedelta(days=18 * 365)
        home = index % self._locations
        guarantor = _guarantor(draws, last, self._phone(draws)) if minor else None
        email = "" if draws.chance(0.75 if minor else 0.28) else _email(draws, first, last)
        cell = "" if draws.chance(0.6 if minor else 0.18) else self._phone(draws)
        home_phone = "" if draws.chance(0.4) or draws.chance(0.05) else self._phone(draws)
        if draws.chance(0.05):  # no phone on file at all
            cell = home_phone = ""
        town = draws.pick(names.TOWNS)
        practitioners = self._enterprise.practitioners_at(home)
        patient = Patient(
            patient_id=patient_id,
            home_location_index=home,
            first_name=first + (" " if draws.chance(0.02) else ""),
            middle_initial="" if draws.chance(0.3) else chr(ord("A") + draws.below(26)),
            last_name=last + ("  " if draws.chance(0.04) else ""),
            suffix=draws.pick(names.SUFFIXES) if sex == "M" and draws.chance(0.04) else "",
            sex=sex,
            birth_date=birth_date,
            mrn=str(3_230_000 + index),
            home_phone=home_phone,
            work_phone="" if minor or draws.chance(0.7) else self._phone(draws),
            cell_phone=cell,
            email=email,
            street1=f"{100 + draws.below(9800)} {draws.pick(names.STREETS)}",
            street2=f"Apt {1 + draws.below(400)}" if draws.chance(0.15) else "",
            city=town,
            state=self._state,
            zip_code=str(20100 + draws.below(90)),
            marital_status="S" if minor else draws.pick(names.MARITAL_STATUSES),
            race=draws.pick(names.RACES),
            ethnicity=draws.pick(names.ETHNICITIES),
            language=draws.pick(names.LANGUAGES),
            employer="Student" if minor else draws.pick(names.EMPLOYERS),
            emergency_contact="" if draws.chance(0.3) else _person_name(draws, last),
            emergency_relation=draws.pick(("Spouse", "Parent", "Sibling", "Friend")),
            primary_care=draws.pick(practitioners),
            guarantor=guarantor,
        )
        # drawn last, so that nothing else of the patient depends on it
        baby = birth_date > AGE_REFERENCE_DATE - timedelta(days=2 * 365)
        if guarantor is not None and not baby and draws.chance(GUARANTOR_NO_EMAIL):
            patient = replace(patient, guarantor=replace(guarantor, email=""))
        if birth_date > AGE_REFERENCE_DATE - timedelta(days=OWN_CONTACT_AGE * 365):
            patient = replace(patient, email="", cell_phone="")  # a young child's: the parent's
        return patient

    def _phone(self, draws: BitDraws) -> str:
        return f"({draws.pick(self._area_codes)}) 555-01{draws.below(100):02d}"


def _age_in_days(draws: BitDraws) -> int:
    roll = draws.below(100)
    if roll < 5:  # infants: well-baby visits
        years_low, years_high = 0, 2
    elif roll < 22:
        years_low, years_high = 2, 18
    else:
        years_low, years_high = 18, 95
    return years_low * 365 + draws.below((years_high - years_low) * 365)


def _guarantor(draws: BitDraws, last: str, phone: str) -> Guarantor:
    female = draws.chance(0.6)
    first = draws.pick(names.FEMALE_FIRST_NAMES if female else names.MALE_FIRST_NAMES)
    return Guarantor(
        first_name=first,
        middle_initial=chr(ord("A") + draws.below(26)),
        last_name=last,
        birth_date=AGE_REFERENCE_DATE - timedelta(days=(25 + draws.below(25)) * 365),
        relation="Mother" if female else "Father",
        cell_phone=phone,
        email=_email(draws, first, last),
    )


def _email(draws: BitDraws, first: str, last: str) -> str:
    local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalpha() or ch == ".")
    return f"{local}{draws.below(100)}@{draws.pick(names.EMAIL_DOMAINS)}"


def _person_name(draws: BitDraws, last: str) -> str:
    return f"{draws.pick(names.FEMALE_FIRST_NAMES + names.MALE_FIRST_NAMES)} {last}"
