"""Synthetic practices: deterministic per seed, lazy per day, realistic gaps."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from frontdesk.sandbox.unity import (
    ClientCredential,
    Practice,
    PracticeShape,
    Sandbox,
    default_config,
    multi_group_config,
)

MONDAY = date(2025, 3, 3)


def fingerprint(practice: Practice, day: date) -> list[tuple[object, ...]]:
    return [
        (a.appointment_id, a.patient_id, a.start, a.status.code, a.appointment_type.abbreviation)
        for a in practice.appointments_on(day)
    ]


def test_same_seed_same_practice_and_days_in_any_order() -> None:
    one = Sandbox(default_config(seed=7)).practice
    two = Sandbox(default_config(seed=7)).practice
    later = MONDAY + timedelta(days=200)
    assert fingerprint(one, later) == fingerprint(two, later)  # day 200 first: no warm-up
    assert fingerprint(one, MONDAY) == fingerprint(two, MONDAY)
    assert one.patient(10050) == two.patient(10050)


def test_another_seed_gives_another_practice() -> None:
    one = Sandbox(default_config(seed=1)).practice
    two = Sandbox(default_config(seed=2)).practice
    assert fingerprint(one, MONDAY) != fingerprint(two, MONDAY)


def test_default_enterprise_is_a_named_multi_location_practice() -> None:
    enterprise = Sandbox(default_config()).practice.enterprise
    assert enterprise.name == "Loudoun Valley Medical Group"
    assert [loc.name for loc in enterprise.locations][:2] == ["Loudoun Office", "Ashburn Office"]
    assert len(enterprise.locations) == 6
    assert len(enterprise.practitioners) == 24


@pytest.mark.parametrize(
    "day",
    [date(2025, 3, 8), date(2025, 3, 9), date(2025, 12, 25), date(2024, 2, 29)],
    ids=["saturday", "sunday", "christmas", "leap-day"],
)
def test_appointments_on_every_day_at_every_location(day: date) -> None:
    practice = Sandbox(default_config()).practice
    appointments = practice.appointments_on(day)
    assert {a.location.index for a in appointments} == set(range(6))
    assert len(appointments) == practice.appointment_count_on(day)


def test_weekday_counts_follow_the_shape() -> None:
    practice = Sandbox(default_config()).practice
    counts = [len(practice.appointments_on(MONDAY + timedelta(days=n))) for n in range(7)]
    assert counts == [150] * 5 + [6 * 8, 6 * 4]


def test_appointment_ids_are_unique_over_a_month() -> None:
    practice = Sandbox(default_config()).practice
    ids = [a.appointment_id for a in practice.appointments_between(MONDAY, MONDAY + timedelta(30))]
    assert len(ids) == len(set(ids))


def test_realistic_gaps_are_present() -> None:
    practice = Sandbox(default_config()).practice
    days = [MONDAY + timedelta(days=n) for n in range(7)]
    appointments = [a for day in days for a in practice.appointments_on(day)]
    patients = {a.patient_id: practice.patient(a.patient_id) for a in appointments}
    people = [p for p in patients.values() if p is not None]
    assert any(p.email == "" for p in people)
    assert any(p.cell_phone == "" for p in people)
    assert any(p.cell_phone == "" and p.home_phone == "" for p in people)
    assert any(p.age_on(MONDAY) < 18 for p in people)
    assert any(p.age_on(MONDAY) < 2 for p in people)
    assert any(p.last_name != p.last_name.rstrip() for p in people), "padded names"
    locations: dict[int, set[int]] = defaultdict(set)
    for a in appointments:
        locations[a.patient_id].add(a.location.index)
    assert any(len(seen) >= 2 for seen in locations.values()), "same patient at two locations"


def test_well_baby_visits_go_to_minors_only() -> None:
    practice = Sandbox(default_config()).practice
    for day in (MONDAY + timedelta(days=n) for n in range(5)):
        for a in practice.appointments_on(day):
            if a.appointment_type.for_minors:
                patient = practice.patient(a.patient_id)
                assert patient is not None
                assert patient.age_on(day) < 18


def test_contacts_are_fictional() -> None:
    practice = Sandbox(default_config()).practice
    for pid in range(10001, 10301):
        patient = practice.patient(pid)
        assert patient is not None
        for phone in (patient.cell_phone, patient.home_phone, patient.work_phone):
            assert phone == "" or " 555-01" in phone
        assert patient.email == "" or patient.email.rsplit("@", 1)[1].startswith("example.")


def test_each_credential_has_its_own_enterprise() -> None:
    sandbox = Sandbox(multi_group_config(groups=3, locations=4, appointments_per_location=10))
    practices = [sandbox.practice_for(c.service_user) for c in sandbox.config.credentials]
    assert len({p.enterprise.name for p in practices}) == 3
    assert len({tuple(fingerprint(p, MONDAY)) for p in practices}) == 3
    assert all(len(p.appointments_on(MONDAY)) == 40 for p in practices)


def test_a_large_enterprise_keeps_only_a_bounded_number_of_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("frontdesk.sandbox.unity.practice.CACHED_APPOINTMENTS", 4_000)
    credential = ClientCredential(
        service_user="big",
        service_password="pw",
        practice=PracticeShape(locations=200, appointments_per_location=10),
    )
    practice = Practice(seed=1, credential=credential)
    assert len({loc.name for loc in practice.enterprise.locations}) == 200
    first_day = fingerprint(practice, MONDAY)
    for n in range(1, 6):
        day = MONDAY + timedelta(days=n)
        assert len(practice.appointments_on(day)) == practice.appointment_count_on(day)
        assert sum(len(day) for day in practice._days.values()) <= 4_000
    assert fingerprint(practice, MONDAY) == first_day  # evicted, regenerated identically
