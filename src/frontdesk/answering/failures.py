"""The Answering Service API v2's outcomes as the services raise them (spec §4.7).

The vendor codes and their messages live in one table, :class:`Failure` (ambiguity 6: change
the mapping there); the HTTP layer (:mod:`frontdesk.answering.http_wire`) renders an
:class:`AnsweringFailure` as the error envelope.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from frontdesk.answering.password_token import PHP_TRIM_CHARACTERS

_PHP_TRIM = PHP_TRIM_CHARACTERS.decode("ascii")


class Failure(enum.Enum):
    """Every documented failure: (vendor code, message). Spec §4.7."""

    NO_PRACTICE_ACCESS = (405, "No Access to this practice")
    INVALID_DOCTOR = (406, "Invalid doctor code")
    INVALID_TICKET = (406, "Invalid Ticket")
    MISSING_FIELD = (407, "Missing required information")
    NOT_AUTHENTICATED = (408, "Not authenticated. Token has expired or user not found.")
    NO_API_ACCESS = (408, "Insufficient access to use API")
    DATABASE = (409, "Database query failure")
    INVALID_DOB = (410, "Invalid DoB format")
    NO_SECURE_MESSAGING = (411, "This doctor does not have Secure Messaging enabled")
    TOKEN_NOT_CREATED = (413, "Missing required information or unable to create token")
    MISSING_TICKET_ID = (413, "Missing required information on Ticket request: ticket_id")
    DOCTOR_NOT_IN_PRACTICE = (414, "Doctor submitted does not exist in submitted practice")
    IDEMPOTENCY_CONFLICT = (409, "Idempotency-Key already used with a different request")
    """Ours (the ticket desk): the vendor's 409 family, "the ticket was not stored"."""
    INVALID_IDEMPOTENCY_KEY = (407, "Invalid Idempotency-Key: use 1 to 255 characters")
    """Ours: a key the server cannot keep is refused rather than ignored."""

    @property
    def code(self) -> int:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


@dataclass(frozen=True, slots=True)
class ApiError:
    code: int
    message: str


class AnsweringFailure(Exception):
    """Raised by the answering services; the router renders it as the error envelope."""

    def __init__(self, failure: Failure, errors: Sequence[ApiError] | None = None) -> None:
        super().__init__(failure.name)
        self.failure = failure
        self.errors = list(errors) if errors else [ApiError(failure.code, failure.message)]


class BodyTooLarge(Exception):
    """The request body exceeds the limit (answered with HTTP 413 outside the contract)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body too large (limit {limit} bytes)")
        self.limit = limit


def is_blank(value: str | None) -> bool:
    """PHP's ``trim($v) == ''`` (its default character set, not Python's whitespace)."""
    return value is None or value.strip(_PHP_TRIM) == ""
