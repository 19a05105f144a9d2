"""Who sees which tickets, and which of their fields: the one place of that rule.

* A **business-scoped** principal (an API key or a dashboard user limited to one business)
  sees no ticket at all: tickets belong to answering-service companies and call-center
  practices, not to a business tenant. Every ticket endpoint answers it 404, as for a row of
  another tenant.
* A **staff API key** (role ``staff``) and the **system** principal (CLI) see and work every
  ticket and configure webhooks.
* A **dashboard user** gets the rights of its role (:func:`~.staff_directory.role_rights`,
  from ``staff/roles.py``): admin and support see every ticket; a nurse sees the tickets of the
  practices linked to the user (``staff_user_practices``); a viewer sees every ticket but
  never patient details. Admins and nurses work tickets; admins configure webhooks.
* **Patient details** (:data:`PATIENT_FIELDS`, staff notes, transition notes and re-filing
  reasons) are replaced by a mask for roles without the right. Such roles may not search
  complaint text either: a filter would reveal what the mask hides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.answering.desk.staff_directory import (
    PATIENT_DETAIL_MASK,
    SqlStaffDirectory,
    StaffDirectory,
    role_rights,
)
from frontdesk.answering.models import AnsweringPractice
from frontdesk.errors import NotFound, PermissionDenied

MASK: Final = PATIENT_DETAIL_MASK
PATIENT_FIELDS: Final = (
    "patient_lname",
    "patient_fname",
    "dob",
    "sex",
    "complaint",
    "caller_lname",
    "caller_fname",
    "relationship",
    "contact_phone",
    "contact_phone_2",
    "email",
    "address",
    "city",
    "state",
    "zip",
    "comments",
    "txt",
    "field_mr",
)
"""Ticket fields that describe the patient or the caller (``txt`` and ``field_mr`` are opaque
and may carry a medical-record number, so they count as patient details)."""


@dataclass(frozen=True, slots=True)
class TicketAccess:
    """What one principal may do with tickets."""

    principal: Principal
    view: bool
    work: bool
    patient_details: bool
    configure: bool
    practice_codes: frozenset[str] | None
    """None: every practice; otherwise only tickets filed under these practice codes."""

    @property
    def actor_role(self) -> str:
        return self.principal.role

    def require_view(self) -> None:
        if not self.view:
            raise NotFound("no such resource")

    def require_work(self) -> None:
        self.require_view()
        if not self.work:
            raise PermissionDenied("your role may read tickets but not work them")

    def require_configure(self) -> None:
        if self.principal.business_scope is not None:
            raise NotFound("no such resource")
        if not self.configure:
            raise PermissionDenied("this needs an administrator or a staff API key")

    def require_search(self) -> None:
        if not self.patient_details:
            raise PermissionDenied("your role may not search patient details", field="q")

    def practice_filter(self) -> ColumnElement[bool]:
        """A WHERE clause (on :class:`AnsweringPractice`) limiting tickets to visible ones."""
        if not self.view:
            return false()
        if self.practice_codes is None:
            return true()
        return AnsweringPractice.code.in_(sorted(self.practice_codes))

    def sees_practice(self, code: str) -> bool:
        return self.view and (self.practice_codes is None or code in self.practice_codes)

    def text(self, value: str | None) -> str | None:
        """Free text (notes, reasons) as this principal may read it."""
        if value is None or value == "" or self.patient_details:
            return value
        return MASK

    def ticket_fields(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with :data:`PATIENT_FIELDS` masked unless this principal may see them."""
        out = dict(values)
        if not self.patient_details:
            for name in PATIENT_FIELDS:
                if out.get(name):
                    out[name] = MASK
        return out


_NOTHING = dict(view=False, work=False, patient_details=False, configure=False)


async def ticket_access(
    session: AsyncSession, principal: Principal, directory: StaffDirectory | None = None
) -> TicketAccess:
    """The :class:`TicketAccess` of ``principal`` (reads a nurse's practice links)."""
    if principal.business_scope is not None:
        return TicketAccess(principal, practice_codes=frozenset(), **_NOTHING)
    if principal.kind == "system" or (principal.kind == "api_key" and principal.role == "staff"):
        return TicketAccess(
            principal,
            view=True,
            work=True,
            patient_details=True,
            configure=True,
            practice_codes=None,
        )
    if principal.kind != "user" or principal.id is None:
        return TicketAccess(principal, practice_codes=frozenset(), **_NOTHING)
    rights = role_rights(principal.role)
    codes: frozenset[str] | None = None
    if rights.practice_bound:
        directory = directory or SqlStaffDirectory()
        codes = await directory.practice_codes(session, user_id=principal.id)
    return TicketAccess(
        principal,
        view=rights.view,
        work=rights.work,
        patient_details=rights.patient_details,
        configure=rights.configure,
        practice_codes=codes,
    )
