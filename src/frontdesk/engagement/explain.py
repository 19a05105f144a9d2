"""Explaining a decision: every rule in order, whether it passed, failed or was not reached.

A check-in records the first reason that applied: the rules before it passed, the rules after
it were not evaluated. The words come from the rule settings the run froze for the mapping
(``sync_run_mappings.rules``), so an explanation shows the settings the decision was made
with, not today's. No patient data: statuses, types, codes and dates of the check-in only.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.reasons import ORDER, Reason
from frontdesk.engagement.rules import TO_GUARDIAN, MappingRules

PASSED, RESTRICTED, NOT_EVALUATED = "passed", "restricted", "not_evaluated"


@dataclass(frozen=True)
class Step:
    """One rule of an explanation."""

    rule: str
    words: str
    outcome: str
    why: str


def _listing(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(values) + "]"


def _why(reason: Reason, checkin: CheckIn, rules: MappingRules | None, failed: bool) -> str:
    status, kind = checkin.pms_appointment_status, checkin.pms_appointment_type
    if reason is Reason.INTEGRATION_IS_BETA:
        return "the integration source is in beta" if failed else "the integration source is live"
    if reason is Reason.LOCATION_NOT_ALLOWED:
        if failed or rules is None:
            return (
                f"no active mapping of the group has the location "
                f"'{checkin.pms_appointment_practice_name}'"
            )
        return f"the location matches mapping {rules.mapping_id}"
    if rules is None:
        return ""
    if reason is Reason.STATUS_NOT_ALLOWED:
        if not rules.allowed_statuses:
            return "no status list: every status is allowed"
        verb = "is not" if failed else "is"
        return f"status '{status}' {verb} in {_listing(rules.allowed_statuses)}"
    if reason is Reason.TYPE_NOT_ALLOWED:
        if not rules.allowed_types:
            return "no type list: every type is allowed"
        verb = "is not" if failed else "is"
        return f"type '{kind}' {verb} in {_listing(rules.allowed_types)}"
    guardian = checkin.detail == TO_GUARDIAN
    if reason is Reason.MINOR:
        if guardian:
            return f"minimum age {rules.min_age}: younger, the request goes to the guardian"
        return f"minimum age {rules.min_age}" + (": the patient is younger" if failed else "")
    if guardian and reason is Reason.NO_USABLE_CONTACT:
        return "the guardian has a usable contact"
    if reason is Reason.SENSITIVE_TYPE:
        verb = "is" if failed else "is not"
        return f"type '{kind}' {verb} in the deny list {_listing(rules.sensitive_types)}"
    if reason is Reason.NO_REVIEW_LINK:
        return "review.url is missing or unusable" if failed else "the location has a review link"
    if reason is Reason.FREQUENCY_CAP:
        return f"one request per patient per {rules.frequency_cap_days} days across the practice"
    if reason is Reason.DRY_RUN:
        return "the mapping is in dry-run mode" if failed else "the mapping sends"
    return {
        Reason.DUPLICATE: "first decision for this appointment",
        Reason.NO_USABLE_CONTACT: "the patient has a usable email",
        Reason.OPTED_OUT: "the email has not opted out",
    }.get(reason, "")


def explain(checkin: CheckIn, rules: MappingRules | None) -> list[Step]:
    """The rules in order with their outcome for ``checkin``."""
    code = checkin.restriction_reason
    failing = Reason(code) if code and checkin.decision != ELIGIBLE else None
    steps: list[Step] = []
    reached = True
    for reason in ORDER:
        if not reached:
            steps.append(Step(reason.value, reason.words, NOT_EVALUATED, ""))
            continue
        failed = reason is failing
        why = _why(reason, checkin, rules, failed)
        if failed and checkin.detail:
            why = f"{why} ({checkin.detail})" if why else checkin.detail
        steps.append(Step(reason.value, reason.words, RESTRICTED if failed else PASSED, why))
        reached = not failed
    return steps
