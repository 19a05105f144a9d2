"""The activation statuses and the changes allowed between them (pure rules, no I/O).

::

    draft ──▶ requested ──▶ approved ──▶ active ──▶ revoked
                  │  ╲           │                    │
                  │   ╰──────────┼──▶ active          │
                  ▼              ▼                    │
               declined ◀────────╯                    │
                  │                                   │
                  ╰──────────▶ requested ◀────────────╯   (raised again)

``requested → active`` is allowed: frontdesk's connection check marks a request active as
soon as the vendor answers, approved or not. Only ``active`` lets the business's groups of
that source run; every other status holds them.
"""

from __future__ import annotations

from typing import Final

from frontdesk.errors import InvalidInput

DRAFT, REQUESTED, APPROVED, ACTIVE = "draft", "requested", "approved", "active"
DECLINED, REVOKED = "declined", "revoked"
STATUSES: Final = (DRAFT, REQUESTED, APPROVED, ACTIVE, DECLINED, REVOKED)
INITIAL: Final = (DRAFT, REQUESTED)
"""Statuses a new request may start in."""
CHECK_ACTIVATES: Final = frozenset({REQUESTED, APPROVED})
"""Statuses a passing connection check turns ``active`` by itself."""
ENVIRONMENTS: Final = ("production", "test")

NEXT: Final[dict[str, frozenset[str]]] = {
    DRAFT: frozenset({REQUESTED}),
    REQUESTED: frozenset({APPROVED, ACTIVE, DECLINED}),
    APPROVED: frozenset({ACTIVE, DECLINED}),
    ACTIVE: frozenset({REVOKED}),
    DECLINED: frozenset({REQUESTED}),
    REVOKED: frozenset({REQUESTED}),
}

WORDS: Final = {
    DRAFT: "draft (not yet sent to the vendor)",
    REQUESTED: "requested from the vendor",
    APPROVED: "approved by the vendor, not yet answering",
    ACTIVE: "active",
    DECLINED: "declined by the vendor",
    REVOKED: "revoked",
}


def check_status(status: str, *, field: str = "status") -> str:
    """``status`` if it is one of :data:`STATUSES`, else a clear 422."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field=field)
    return status


def check_transition(current: str, wanted: str) -> None:
    """Refuse a change the lifecycle does not allow, naming the allowed ones."""
    check_status(wanted)
    allowed = NEXT.get(current, frozenset())
    if wanted not in allowed:
        options = ", ".join(s for s in STATUSES if s in allowed) or "none"
        raise InvalidInput(
            f"an activation request cannot go from {current} to {wanted} "
            f"(from {current}: {options})",
            field="status",
        )


def holds(status: str) -> bool:
    """Whether a request in ``status`` holds its business's groups of the source."""
    return status != ACTIVE
