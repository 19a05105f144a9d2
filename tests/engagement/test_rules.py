"""``engagement.rules.evaluate`` on its own: every rule, alone and against every later one.

Each rule has one *trigger*: the smallest change to an otherwise eligible check-in that makes
that rule restrict it. A trigger alone yields its reason; two triggers together yield the one
earlier in ``reasons.ORDER`` — so the table below pins both what each rule does and the order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from frontdesk.engagement.checkin_models import ELIGIBLE, RESTRICTED
from frontdesk.engagement.reasons import ORDER, Reason
from frontdesk.engagement.rules import Candidate, Facts, MappingRules, PreparedRules, evaluate

DAY = date(2026, 3, 4)


@dataclass
class World:
    """One check-in, its mapping's rules and what the database knows: eligible as built."""

    candidate: dict[str, Any] = field(
        default_factory=lambda: {
            "appointment_id": "A1",
            "patient_id": "P1",
            "day": DAY,
            "status": "Checked Out",
            "appointment_type": "ROUTINE",
            "type_description": "Routine visit",
            "birth_date": date(1980, 6, 1),
            "contact_problem": None,
            "contact_hash": "h1",
        }
    )
    rules: dict[str, Any] = field(
        default_factory=lambda: {
            "mapping_id": 1,
            "business_id": 1,
            "location_name": "Loudoun Office",
            "timezone": "America/New_York",
            "dry_run": False,
            "allowed_statuses": ("Checked Out",),
            "allowed_types": ("ROUTINE",),
            "min_age": 18,
            "frequency_cap_days": 30,
            "sensitive_types": ("BEHAVHLT",),
            "review_link": True,
            "oldest_request_day": None,
        }
    )
    facts: Facts = field(default_factory=lambda: Facts(beta=False))
    mapped: bool = True

    def decide(self) -> tuple[str, Reason | None]:
        prepared = PreparedRules(MappingRules(**self.rules), _exact_status) if self.mapped else None
        verdict = evaluate(Candidate(**self.candidate), prepared, self.facts)
        return verdict.decision, verdict.reason


def _exact_status(allowed: Iterable[str], status: str) -> bool:
    return status in allowed


def _set(part: str, **values: Any) -> Callable[[World], None]:
    def apply(world: World) -> None:
        getattr(world, part).update(values)

    return apply


def _beta(world: World) -> None:
    world.facts.beta = True


def _unmapped(world: World) -> None:
    world.mapped = False


def _decided_before(world: World) -> None:
    world.facts.decided_days["A1"] = {DAY - timedelta(days=1)}


def _opted_out(world: World) -> None:
    world.facts.opted_out.add("h1")


def _asked_recently(world: World) -> None:
    world.facts.requested["p:P1"] = {DAY - timedelta(days=3)}


TRIGGERS: dict[Reason, Callable[[World], None]] = {
    Reason.INTEGRATION_IS_BETA: _beta,
    Reason.LOCATION_NOT_ALLOWED: _unmapped,
    Reason.STATUS_NOT_ALLOWED: _set("candidate", status="Cancelled"),
    Reason.TYPE_NOT_ALLOWED: _set("rules", allowed_types=("WELLBAB1",)),
    Reason.DUPLICATE: _decided_before,
    Reason.MINOR: _set("candidate", birth_date=date(2016, 1, 1)),
    Reason.SENSITIVE_TYPE: _set("rules", sensitive_types=("ROUTINE",)),
    Reason.NO_REVIEW_LINK: _set("rules", review_link=False),
    Reason.NO_USABLE_CONTACT: _set("candidate", contact_problem="missing"),
    Reason.OPTED_OUT: _opted_out,
    Reason.FREQUENCY_CAP: _asked_recently,
    Reason.TOO_OLD: _set("rules", oldest_request_day=DAY + timedelta(days=1)),
    Reason.DRY_RUN: _set("rules", dry_run=True),
}


def test_every_reason_has_a_trigger() -> None:
    assert set(TRIGGERS) == set(Reason)


def test_the_untouched_check_in_is_eligible_and_remembered() -> None:
    world = World()
    assert world.decide() == (ELIGIBLE, None)
    assert world.facts.requested == {"p:P1": {DAY}, "c:h1": {DAY}}


@pytest.mark.parametrize("reason", list(ORDER), ids=[r.value for r in ORDER])
def test_each_rule_alone(reason: Reason) -> None:
    world = World()
    TRIGGERS[reason](world)
    before = {key: set(days) for key, days in world.facts.requested.items()}
    assert world.decide() == (RESTRICTED, reason)
    assert world.facts.requested == before  # a restricted check-in does not count for the cap


PAIRS = list(itertools.combinations(ORDER, 2))


@pytest.mark.parametrize(
    ("first", "later"), PAIRS, ids=[f"{a.value} before {b.value}" for a, b in PAIRS]
)
def test_the_earlier_rule_wins(first: Reason, later: Reason) -> None:
    world = World()
    TRIGGERS[later](world)
    TRIGGERS[first](world)
    assert world.decide() == (RESTRICTED, first)


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        pytest.param({"birth_date": date(2008, 3, 4)}, (ELIGIBLE, None), id="18 today: adult"),
        pytest.param(
            {"birth_date": date(2008, 3, 5)}, (RESTRICTED, Reason.MINOR), id="18 tomorrow: minor"
        ),
        pytest.param({"birth_date": None}, (ELIGIBLE, None), id="no birth date: not a minor"),
        pytest.param(
            {"type_description": "  routine VISIT "},
            (ELIGIBLE, None),
            id="type matches by its description too",
        ),
        pytest.param({"day": DAY + timedelta(days=30)}, (ELIGIBLE, None), id="cap: day 30 ok"),
    ],
)
def test_edges(change: dict[str, Any], outcome: tuple[str, Reason | None]) -> None:
    world = World()
    world.facts.requested["p:P1"] = {DAY} if "day" in change else set()
    world.candidate.update(change)
    assert world.decide() == outcome


MINOR = {"birth_date": date(2025, 1, 1)}  # a baby on DAY
TO_GUARDIAN = {**MINOR, "contact_is_guardian": True}


@pytest.mark.parametrize(
    ("candidate", "rules", "outcome"),
    [
        pytest.param(TO_GUARDIAN, {}, (ELIGIBLE, None, "to guardian"), id="minor, guardian: sent"),
        pytest.param(MINOR, {}, (RESTRICTED, Reason.MINOR, "under 18"), id="minor alone: minor"),
        pytest.param(
            {**MINOR, "contact_problem": "missing", "contact_hash": None},
            {},
            (RESTRICTED, Reason.MINOR, "under 18"),
            id="minor without guardian contact: minor (not no_usable_contact)",
        ),
        pytest.param(
            {"contact_is_guardian": True},
            {"min_age": 0},
            (ELIGIBLE, None, "to guardian"),
            id="no minimum age: the guardian's contact still says so",
        ),
        pytest.param(
            TO_GUARDIAN,
            {"sensitive_types": ("ROUTINE",)},
            (RESTRICTED, Reason.SENSITIVE_TYPE, None),
            id="minor, guardian, sensitive type: sensitive_type",
        ),
        pytest.param(
            TO_GUARDIAN,
            {"dry_run": True},
            (RESTRICTED, Reason.DRY_RUN, "the mapping is in dry-run mode"),
            id="minor, guardian, dry run: dry_run",
        ),
    ],
)
def test_a_minor_through_their_guardian(
    candidate: dict[str, Any], rules: dict[str, Any], outcome: tuple[str, Reason | None, str | None]
) -> None:
    world = World()
    world.candidate.update(candidate)
    world.rules.update(rules)
    prepared = PreparedRules(MappingRules(**world.rules), _exact_status)
    verdict = evaluate(Candidate(**world.candidate), prepared, world.facts)
    assert (verdict.decision, verdict.reason, verdict.detail) == outcome


@pytest.mark.parametrize(
    ("trigger", "detail"),
    [
        pytest.param(_opted_out, "guardian's email opted out", id="guardian opted out"),
        pytest.param(
            lambda world: world.facts.requested.update({"c:h1": {DAY - timedelta(days=3)}}),
            f"same guardian's email eligible on {DAY - timedelta(days=3)}",
            id="guardian asked recently (a sibling's visit): frequency_cap",
        ),
    ],
)
def test_the_guardians_contact_is_the_one_checked(
    trigger: Callable[[World], None], detail: str
) -> None:
    world = World()
    world.candidate.update(TO_GUARDIAN)
    trigger(world)
    prepared = PreparedRules(MappingRules(**world.rules), _exact_status)
    verdict = evaluate(Candidate(**world.candidate), prepared, world.facts)
    assert verdict.decision == RESTRICTED
    assert verdict.detail == detail
