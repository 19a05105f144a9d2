"""Roles and what each may do: the one place that maps a role to its permissions.

========================  =====  =======  =====  ======
permission                admin  support  nurse  viewer
========================  =====  =======  =====  ======
view_integrations           x       x              x
configure_integrations      x       x
run_sync                    x       x
view_checkins               x       x              x
view_outbox                 x       x              x
view_tickets                x       x       x      x
work_tickets                x               x
see_patient_details         x       x       x
manage_users                x
========================  =====  =======  =====  ======

A viewer reads but never sees patient details (names, birth dates, phones, e-mails): pages
render those through :func:`patient_detail`, which masks them for such roles. A nurse works
the tickets of the practices linked to the user (``staff_user_practices``) and has no
integration pages.
"""

from __future__ import annotations

import enum
from typing import Final


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPPORT = "support"
    NURSE = "nurse"
    VIEWER = "viewer"


ROLES: Final = tuple(r.value for r in Role)


class Permission(enum.StrEnum):
    VIEW_INTEGRATIONS = "view_integrations"
    CONFIGURE_INTEGRATIONS = "configure_integrations"
    RUN_SYNC = "run_sync"
    VIEW_CHECKINS = "view_checkins"
    VIEW_OUTBOX = "view_outbox"
    VIEW_TICKETS = "view_tickets"
    WORK_TICKETS = "work_tickets"
    SEE_PATIENT_DETAILS = "see_patient_details"
    MANAGE_USERS = "manage_users"


P = Permission
PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPPORT: frozenset(
        {
            P.VIEW_INTEGRATIONS,
            P.CONFIGURE_INTEGRATIONS,
            P.RUN_SYNC,
            P.VIEW_CHECKINS,
            P.VIEW_OUTBOX,
            P.VIEW_TICKETS,
            P.SEE_PATIENT_DETAILS,
        }
    ),
    Role.NURSE: frozenset({P.VIEW_TICKETS, P.WORK_TICKETS, P.SEE_PATIENT_DETAILS}),
    Role.VIEWER: frozenset({P.VIEW_INTEGRATIONS, P.VIEW_CHECKINS, P.VIEW_OUTBOX, P.VIEW_TICKETS}),
}

PATIENT_DETAIL_MASK: Final = "•••"


def parse_role(value: str) -> Role:
    """The role named ``value`` (ValueError naming the choices otherwise)."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValueError(f"role must be one of {', '.join(ROLES)}") from None


def can(role: str, permission: Permission) -> bool:
    """Whether ``role`` has ``permission``; an unknown role has none."""
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def can_view_integrations(role: str) -> bool:
    return can(role, P.VIEW_INTEGRATIONS)


def can_configure(role: str) -> bool:
    return can(role, P.CONFIGURE_INTEGRATIONS)


def can_run_sync(role: str) -> bool:
    return can(role, P.RUN_SYNC)


def can_work_tickets(role: str) -> bool:
    return can(role, P.WORK_TICKETS)


def can_see_patient_details(role: str) -> bool:
    return can(role, P.SEE_PATIENT_DETAILS)


def can_manage_users(role: str) -> bool:
    return can(role, P.MANAGE_USERS)


def patient_detail(role: str, value: str | None) -> str:
    """A patient field as ``role`` may see it: the value, or a mask for viewers."""
    if not value:
        return ""
    return value if can_see_patient_details(role) else PATIENT_DETAIL_MASK
