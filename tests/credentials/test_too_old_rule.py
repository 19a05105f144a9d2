"""The backfill rule ``too_old``: only when the run froze an ``oldest_request_day``; after
every other rule (an opted-out patient stays ``opted_out``), before dry run."""

from __future__ import annotations

from datetime import date

import pytest

from frontdesk.engagement.reasons import ORDER, Reason, words
from frontdesk.engagement.rules import Candidate, Facts, MappingRules, PreparedRules, evaluate

DAY = date(2025, 3, 4)


def rules(oldest: date | None, *, dry_run: bool = False) -> MappingRules:
    return MappingRules(
        mapping_id=1,
        business_id=1,
        location_name="Loudoun Office",
        timezone="America/New_York",
        dry_run=dry_run,
        allowed_statuses=(),
        allowed_types=(),
        min_age=18,
        frequency_cap_days=30,
        sensitive_types=(),
        review_link=True,
        oldest_request_day=oldest,
    )


def candidate(day: date, contact_hash: str = "h1") -> Candidate:
    return Candidate(
        appointment_id="A1",
        patient_id="P1",
        day=day,
        status="Confirmed",
        appointment_type="FOLLOWUP",
        type_description="Follow up",
        birth_date=date(1970, 1, 1),
        contact_problem=None,
        contact_hash=contact_hash,
    )


@pytest.mark.parametrize(
    ("oldest", "day", "dry_run", "opted_out", "expected"),
    [
        (None, date(2024, 1, 1), False, False, None),  # not a backfill: no age limit
        (DAY, DAY, False, False, None),  # exactly the limit: still asked
        (DAY, date(2025, 3, 3), False, False, Reason.TOO_OLD),
        (DAY, date(2025, 3, 3), True, False, Reason.TOO_OLD),  # before dry run
        (DAY, date(2025, 3, 3), False, True, Reason.OPTED_OUT),  # after the other rules
        (DAY, DAY, True, False, Reason.DRY_RUN),
    ],
    ids=["scheduled", "at-limit", "too-old", "too-old-dry-run", "opted-out-wins", "dry-run"],
)
def test_too_old(
    oldest: date | None, day: date, dry_run: bool, opted_out: bool, expected: Reason | None
) -> None:
    facts = Facts(beta=False, opted_out={"h1"} if opted_out else set())
    prepared = PreparedRules(rules(oldest, dry_run=dry_run), lambda _a, _s: True)
    verdict = evaluate(candidate(day), prepared, facts)
    assert verdict.reason == expected
    assert verdict.decision == ("eligible" if expected is None else "restricted")


def test_frozen_rules_round_trip() -> None:
    frozen = rules(DAY).to_json()
    assert frozen["oldest_request_day"] == "2025-03-04"
    assert MappingRules.from_json(frozen) == rules(DAY)
    legacy = rules(None).to_json()
    legacy.pop("oldest_request_day")
    assert MappingRules.from_json(legacy) == rules(None)


def test_reason_order_and_words() -> None:
    assert ORDER.index(Reason.TOO_OLD) == ORDER.index(Reason.DRY_RUN) - 1
    assert ORDER.index(Reason.TOO_OLD) == ORDER.index(Reason.FREQUENCY_CAP) + 1
    assert words("too_old") == "Appointment too old to ask about"
