"""Restriction reasons: stable codes, their order, and their plain words (one place).

The codes are stored in ``checkins.restriction_reason`` and never change meaning; the words
are what the API, the CLI and the dashboard show. The order is the order the rules are
evaluated in: a check-in records the first reason that applies.
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Why a check-in did not become a review request."""

    INTEGRATION_IS_BETA = "integration_is_beta"
    LOCATION_NOT_ALLOWED = "location_not_allowed"
    STATUS_NOT_ALLOWED = "status_not_allowed"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    DUPLICATE = "duplicate"
    MINOR = "minor"
    SENSITIVE_TYPE = "sensitive_type"
    NO_REVIEW_LINK = "no_review_link"
    NO_USABLE_CONTACT = "no_usable_contact"
    OPTED_OUT = "opted_out"
    FREQUENCY_CAP = "frequency_cap"
    TOO_OLD = "too_old"
    DRY_RUN = "dry_run"

    @property
    def words(self) -> str:
        """The reason in plain words."""
        return WORDS[self]


ORDER: tuple[Reason, ...] = tuple(Reason)
"""Rules are evaluated in this order (the enum's order)."""

WORDS: dict[Reason, str] = {
    Reason.INTEGRATION_IS_BETA: "Integration is beta",
    Reason.LOCATION_NOT_ALLOWED: "'Location name' is not in the allowed list",
    Reason.STATUS_NOT_ALLOWED: "'Appointment status' is not in the allowed list",
    Reason.TYPE_NOT_ALLOWED: "'Appointment type' is not in the allowed list",
    Reason.DUPLICATE: "The appointment was already decided for another day",
    Reason.MINOR: "The patient is under the minimum age",
    Reason.SENSITIVE_TYPE: "The appointment type is sensitive",
    Reason.NO_REVIEW_LINK: "The location has no usable review link",
    Reason.NO_USABLE_CONTACT: "The patient has no usable contact",
    Reason.OPTED_OUT: "The patient opted out of review requests",
    Reason.FREQUENCY_CAP: "The patient was asked recently (frequency cap)",
    Reason.TOO_OLD: "Appointment too old to ask about",
    Reason.DRY_RUN: "Dry run: decided, never sent",
}


def words(code: str | None) -> str | None:
    """Plain words for a stored code (the code itself if unknown, None for no reason)."""
    if code is None:
        return None
    try:
        return Reason(code).words
    except ValueError:
        return code
