"""The navigation registry: one entry per dashboard page, shown to roles that may open it.

A feature that adds a page adds one :class:`NavItem` here (and its route module to
:data:`frontdesk.web.mount.PAGES`). Only pages that exist are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.staff.roles import Permission


@dataclass(frozen=True)
class NavItem:
    """A link in the top navigation; ``section`` marks it current on pages that name it."""

    label: str
    path: str
    permission: Permission
    section: str


NAV: tuple[NavItem, ...] = (
    NavItem("Integrations", "/integrations", Permission.VIEW_INTEGRATIONS, "integrations"),
    NavItem("Check-ins", "/checkins", Permission.VIEW_CHECKINS, "checkins"),
    NavItem("Outbox", "/outbox", Permission.VIEW_OUTBOX, "outbox"),
    NavItem("Tickets", "/tickets", Permission.VIEW_TICKETS, "tickets"),
    NavItem("HL7", "/hl7", Permission.VIEW_INTEGRATIONS, "hl7"),
    NavItem("Client Activations", "/activations", Permission.VIEW_INTEGRATIONS, "activations"),
    NavItem("Alerts", "/alerts", Permission.VIEW_INTEGRATIONS, "alerts"),
    NavItem("Audit log", "/audit", Permission.VIEW_INTEGRATIONS, "audit"),
    NavItem("Usage", "/usage", Permission.VIEW_INTEGRATIONS, "usage"),
)
