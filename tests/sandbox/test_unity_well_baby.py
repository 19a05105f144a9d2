"""The sandbox's well-baby visits are babies' (under two, with a parent whose e-mail and cell
phone are on file), whatever day it serves, and the support guide's example (WELLBAB1,
Acknowledge) finds some; the data stays the same for a seed."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from frontdesk.sandbox.unity import Sandbox, default_config

if TYPE_CHECKING:
    from conftest import UnityWire

WEEKS = [date(2025, 3, 3), date(2026, 11, 30), date(2031, 6, 2)]  # Mondays, years apart


def _days(monday: date) -> list[date]:
    return [monday + timedelta(days=n) for n in range(7)]


@pytest.mark.parametrize("monday", WEEKS, ids=[d.isoformat() for d in WEEKS])
def test_every_well_baby_visit_is_a_baby_with_a_reachable_parent(
    sandbox: Sandbox, monday: date
) -> None:
    practice = sandbox.practice
    visits = 0
    for day in _days(monday):
        for appointment in practice.appointments_on(day):
            if appointment.appointment_type.abbreviation != "WELLBAB1":
                continue
            visits += 1
            baby = practice.patient(appointment.patient_id)
            assert baby is not None
            assert 0 <= baby.age_on(day) < 2
            assert baby.birth_date <= day - timedelta(days=7)
            assert baby.email == ""
            assert baby.cell_phone == ""
            assert baby.guarantor is not None
            assert "@" in baby.guarantor.email
            assert baby.guarantor.cell_phone
    assert visits >= 7 * 6  # at least one a day per location on average


@pytest.mark.parametrize("monday", WEEKS, ids=[d.isoformat() for d in WEEKS])
def test_each_weekday_the_guides_example_finds_acknowledged_well_baby_visits(
    sandbox: Sandbox, monday: date
) -> None:
    practice = sandbox.practice
    for day in _days(monday)[:5]:
        found = Counter(
            a.location.name
            for a in practice.appointments_on(day)
            if a.appointment_type.abbreviation == "WELLBAB1"
            and a.status.description == "Acknowledge"
        )
        assert found["Sterling Pediatrics"] >= 1, day  # the pediatric office: every weekday
        assert sum(found.values()) >= 3, day


def test_older_children_keep_well_child_checks_and_some_parents_lack_an_email(
    sandbox: Sandbox,
) -> None:
    practice = sandbox.practice
    kinds: Counter[str] = Counter()
    no_email = 0
    for day in _days(WEEKS[0]):
        for appointment in practice.appointments_on(day):
            patient = practice.patient(appointment.patient_id)
            assert patient is not None
            if 2 <= patient.age_on(day) < 18:
                kinds[appointment.appointment_type.abbreviation] += 1
                assert patient.guarantor is not None
                no_email += patient.guarantor.email == ""
    assert kinds["WELLBAB1"] == 0
    assert kinds["WELLCHLD"] > 0
    assert no_email > 0  # a minor whose guardian cannot be e-mailed stays restricted


def test_the_same_seed_serves_the_same_babies() -> None:
    first, second = Sandbox(default_config(seed=1)), Sandbox(default_config(seed=1))
    other = Sandbox(default_config(seed=2))
    day = WEEKS[1]

    def babies(sandbox: Sandbox) -> list[tuple[int, int, str]]:
        practice = sandbox.practice
        return [
            (a.appointment_id, a.patient_id, repr(practice.patient(a.patient_id)))
            for a in practice.appointments_on(day)
            if a.appointment_type.abbreviation == "WELLBAB1"
        ]

    assert babies(first) == babies(second)
    assert babies(first) != babies(other)
    baby = first.practice.patient(babies(first)[0][1])
    again = second.practice.patient(babies(first)[0][1])
    assert baby == again


async def test_a_babys_demographics_name_the_parent_as_guarantor(
    session: UnityWire, sandbox: Sandbox
) -> None:
    practice = sandbox.practice
    visit = next(
        a
        for a in practice.appointments_on(WEEKS[1])
        if a.appointment_type.abbreviation == "WELLBAB1"
    )
    baby = practice.patient(visit.patient_id)
    assert baby is not None
    assert baby.guarantor is not None
    (row,) = await session.rows("GetPatientDemographics", PatientID=str(baby.patient_id))
    assert (row["Is_Guarantor"], row["RelationToGuarantor"]) == ("N", "Child")
    assert row["Email_Address"] == ""
    assert row["Cell_Phone"] == ""
    assert row["Guarantor_First_Name"] == baby.guarantor.first_name
    assert row["Guarantor_Email"] == baby.guarantor.email
    assert row["Guarantor_Cell_Phone"] == baby.guarantor.cell_phone
