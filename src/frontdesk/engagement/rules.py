"""The rules: plain functions over plain data, evaluated in :data:`~.reasons.ORDER`.

The sync engine prepares, per run, one :class:`MappingRules` per mapping (a JSON snapshot
stored with the run, so a resumed run decides with the same settings and a decision can be
explained later) and, per batch of appointments, the :class:`Facts` it needs from the
database. :func:`evaluate` then decides one :class:`Candidate` without any I/O. A minor
whose candidate carries their guardian's contact (``contact_is_guardian``) passes the minor
rule: the request goes to the guardian, and every later rule looks at the guardian's
contact. Nothing here logs or raises with patient data; ``detail`` strings carry ids, codes
and dates only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from frontdesk.engagement.checkin_models import ELIGIBLE, RESTRICTED
from frontdesk.engagement.reasons import Reason

StatusMatch = Callable[[Iterable[str], str], bool]


@dataclass(frozen=True)
class MappingRules:
    """The rule settings of one mapping (location) for one run. Empty allow-list = all."""

    mapping_id: int
    business_id: int
    location_name: str
    timezone: str
    dry_run: bool
    allowed_statuses: tuple[str, ...]
    allowed_types: tuple[str, ...]
    min_age: int
    frequency_cap_days: int
    sensitive_types: tuple[str, ...]
    review_link: bool
    channel: str = "email"
    """The channel its requests go by (``review.channel``): its contact is the one checked."""
    oldest_request_day: date | None = None
    """Backfill runs only: appointments before this day are ``too_old`` to ask about."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("allowed_statuses", "allowed_types", "sensitive_types"):
            data[key] = list(data[key])
        if self.oldest_request_day is not None:
            data["oldest_request_day"] = self.oldest_request_day.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MappingRules:
        values = dict(data)
        for key in ("allowed_statuses", "allowed_types", "sensitive_types"):
            values[key] = tuple(values.get(key) or ())
        if values.get("oldest_request_day"):
            values["oldest_request_day"] = date.fromisoformat(values["oldest_request_day"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Route:
    """One channel a candidate may be asked by, with its contact's state for that channel."""

    channel: str
    contact_kind: str
    contact_problem: str | None
    contact_hash: str | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the rules look at for one appointment (no names, no addresses)."""

    appointment_id: str
    patient_id: str
    day: date
    status: str
    appointment_type: str
    type_description: str
    birth_date: date | None
    contact_problem: str | None  # None: a usable contact for the mapping's channel
    contact_hash: str | None
    channel: str = "email"
    contact_kind: str = "email"
    """How the channel reaches the patient (email, mobile, webhook): for the detail text."""
    contact_is_guardian: bool = False
    """The contact is the guardian's (a minor's request goes to their parent or guardian):
    the minor rule lets it through, the decision's detail says so."""
    more_routes: tuple[Route, ...] = ()
    """A channel choice's further members (``sms_then_email``): the fields above are its
    first member's."""
    every_route: bool = False
    """The choice asks by every usable member (``email_and_sms``), not the first."""

    def routes(self) -> tuple[Route, ...]:
        first = Route(self.channel, self.contact_kind, self.contact_problem, self.contact_hash)
        return (first, *self.more_routes)


@dataclass
class Facts:
    """What the database (and this run so far) knows, for the candidates of one batch."""

    beta: bool
    decided_days: dict[str, set[date]] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)
    requested: dict[str, set[date]] = field(default_factory=dict)
    """``p:<patient id>`` / ``c:<contact hash>`` → days with an eligible check-in."""

    def remember_eligible(self, candidate: Candidate, routes: tuple[Route, ...]) -> None:
        for key in cap_keys(candidate, routes):
            self.requested.setdefault(key, set()).add(candidate.day)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision: ``eligible`` or ``restricted`` with its reason and a short detail."""

    decision: str
    reason: Reason | None = None
    detail: str | None = None
    routes: tuple[Route, ...] = ()
    """Eligible: the channels the request goes by (one review request each)."""


TO_GUARDIAN = "to guardian"


class PreparedRules:
    """A mapping's rules with their matchers built once (status matches memoised)."""

    def __init__(self, rules: MappingRules, status_matches: StatusMatch) -> None:
        self.rules = rules
        self._statuses = rules.allowed_statuses
        self._status_matches = status_matches
        self._status_memo: dict[str, bool] = {}
        self._types = {t.strip().casefold() for t in rules.allowed_types if t.strip()}
        self._sensitive = {t.strip().casefold() for t in rules.sensitive_types if t.strip()}

    def status_allowed(self, status: str) -> bool:
        if not self._statuses:
            return True
        known = self._status_memo.get(status)
        if known is None:
            known = self._status_memo[status] = self._status_matches(self._statuses, status)
        return known

    def type_allowed(self, candidate: Candidate) -> bool:
        return not self._types or _type_in(candidate, self._types)

    def type_sensitive(self, candidate: Candidate) -> bool:
        return bool(self._sensitive) and _type_in(candidate, self._sensitive)


def _type_in(candidate: Candidate, folded: set[str]) -> bool:
    return (
        candidate.appointment_type.casefold() in folded
        or candidate.type_description.strip().casefold() in folded
    )


def cap_keys(candidate: Candidate, routes: tuple[Route, ...] | None = None) -> list[str]:
    """The frequency cap's keys: the patient, and the contact of every channel asked by."""
    keys = [f"p:{candidate.patient_id}"] if candidate.patient_id else []
    for route in candidate.routes()[:1] if routes is None else routes:
        if route.contact_hash:
            keys.append(f"c:{route.contact_hash}")
    return keys


def usable_routes(candidate: Candidate, opted_out: set[str]) -> tuple[Route, ...]:
    """The routes the request goes by: with a usable contact that did not opt out of the
    channel; the first such one, or all of them for a choice of every member."""
    usable = tuple(
        r
        for r in candidate.routes()
        if r.contact_problem is None and not (r.contact_hash and r.contact_hash in opted_out)
    )
    return usable if candidate.every_route else usable[:1]


def _unreachable(candidate: Candidate, whose: str) -> Verdict:
    """Why no route is usable: a contact that opted out, else the contacts' problems."""
    routes = candidate.routes()
    for route in routes:
        if route.contact_problem is None:
            return Verdict(RESTRICTED, Reason.OPTED_OUT, f"{whose}{route.channel} opted out")
    problems = ", ".join(f"{r.contact_kind} {r.contact_problem}" for r in routes)
    return Verdict(RESTRICTED, Reason.NO_USABLE_CONTACT, problems[:200])


def age_on(birth_date: date, day: date) -> int:
    """Whole years from ``birth_date`` to ``day``."""
    years = day.year - birth_date.year
    return years - ((day.month, day.day) < (birth_date.month, birth_date.day))


def under_age(min_age: int, birth_date: date | None, day: date) -> bool:
    """Whether a patient born on ``birth_date`` is under ``min_age`` on ``day`` (unknown: no)."""
    return birth_date is not None and min_age > 0 and age_on(birth_date, day) < min_age


def evaluate(candidate: Candidate, prepared: PreparedRules | None, facts: Facts) -> Verdict:
    """Decide one check-in; ``prepared`` is None when no active mapping matched its location.

    An eligible verdict is remembered in ``facts`` (the frequency cap of later candidates).
    """
    if facts.beta:
        return Verdict(RESTRICTED, Reason.INTEGRATION_IS_BETA, "the source is in beta")
    if prepared is None:
        return Verdict(RESTRICTED, Reason.LOCATION_NOT_ALLOWED, "no active mapping has it")
    rules = prepared.rules
    if not prepared.status_allowed(candidate.status):
        return Verdict(RESTRICTED, Reason.STATUS_NOT_ALLOWED)
    if not prepared.type_allowed(candidate):
        return Verdict(RESTRICTED, Reason.TYPE_NOT_ALLOWED)
    other_days = facts.decided_days.get(candidate.appointment_id)
    if other_days:
        first = min(other_days)
        return Verdict(RESTRICTED, Reason.DUPLICATE, f"decided for {first.isoformat()}")
    if not candidate.contact_is_guardian and under_age(
        rules.min_age, candidate.birth_date, candidate.day
    ):
        return Verdict(RESTRICTED, Reason.MINOR, f"under {rules.min_age}")
    if prepared.type_sensitive(candidate):
        return Verdict(RESTRICTED, Reason.SENSITIVE_TYPE)
    if not rules.review_link:
        return Verdict(RESTRICTED, Reason.NO_REVIEW_LINK, "review.url is missing or unusable")
    whose = "guardian's " if candidate.contact_is_guardian else ""
    routes = usable_routes(candidate, facts.opted_out)
    if not routes:
        return _unreachable(candidate, whose)
    if rules.frequency_cap_days > 0:
        for key in cap_keys(candidate, routes):
            for day in facts.requested.get(key, ()):
                if abs((candidate.day - day).days) < rules.frequency_cap_days:
                    kind = "patient" if key.startswith("p:") else whose + _kind_of(key, routes)
                    return Verdict(
                        RESTRICTED, Reason.FREQUENCY_CAP, f"same {kind} eligible on {day}"
                    )
    if rules.oldest_request_day is not None and candidate.day < rules.oldest_request_day:
        oldest = rules.oldest_request_day.isoformat()
        return Verdict(RESTRICTED, Reason.TOO_OLD, f"backfill: before {oldest}")
    if rules.dry_run:
        return Verdict(RESTRICTED, Reason.DRY_RUN, "the mapping is in dry-run mode")
    facts.remember_eligible(candidate, routes)
    detail = TO_GUARDIAN if candidate.contact_is_guardian else None
    return Verdict(ELIGIBLE, detail=detail, routes=routes)


def _kind_of(key: str, routes: tuple[Route, ...]) -> str:
    return next((r.contact_kind for r in routes if f"c:{r.contact_hash}" == key), "contact")
