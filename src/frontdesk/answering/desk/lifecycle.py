"""Ticket statuses and the transitions allowed between them: the table is data, here only.

``IN PROGRESS`` is the vendor's status at creation. ``ASSIGNED`` is entered by assigning (the
assignee and the status change together). ``CLOSED`` and ``CANCELLED`` are terminal: nothing
leaves them, so the record of what was done stays as it was. ``docs/tickets.md`` draws the
diagram and justifies each edge.
"""

from __future__ import annotations

from typing import Final

IN_PROGRESS: Final = "IN PROGRESS"
ASSIGNED: Final = "ASSIGNED"
CALLBACK_PENDING: Final = "CALLBACK PENDING"
ESCALATED: Final = "ESCALATED"
COMPLETED: Final = "COMPLETED"
CLOSED: Final = "CLOSED"
CANCELLED: Final = "CANCELLED"

STATUSES: Final = (
    IN_PROGRESS,
    ASSIGNED,
    CALLBACK_PENDING,
    ESCALATED,
    COMPLETED,
    CLOSED,
    CANCELLED,
)

TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    IN_PROGRESS: (ASSIGNED, CALLBACK_PENDING, ESCALATED, CANCELLED),
    ASSIGNED: (IN_PROGRESS, CALLBACK_PENDING, ESCALATED, COMPLETED, CANCELLED),
    CALLBACK_PENDING: (ASSIGNED, ESCALATED, COMPLETED, CANCELLED),
    ESCALATED: (ASSIGNED, COMPLETED, CANCELLED),
    COMPLETED: (CLOSED, ASSIGNED),
    CLOSED: (),
    CANCELLED: (),
}
"""status → the statuses it may move to (``ASSIGNED`` only through an assignment)."""

TERMINAL: Final = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
OPEN: Final = frozenset(s for s in STATUSES if s not in TERMINAL and s != COMPLETED)
"""Statuses that still need someone: what the Unassigned queue looks at."""


def normalise_status(value: str) -> str | None:
    """The known status ``value`` names (case and inner spaces/underscores forgiven), or None."""
    wanted = " ".join(value.replace("_", " ").split()).upper()
    return wanted if wanted in TRANSITIONS else None


def allowed_next(status: str) -> tuple[str, ...]:
    """Where a ticket in ``status`` may go (nothing for an unknown status)."""
    return TRANSITIONS.get(status, ())


def is_allowed(current: str, target: str) -> bool:
    return target in allowed_next(current)
