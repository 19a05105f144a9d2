"""What the Tickets pages show: the queue's filters (all in the URL), the ticket's history as
one timeline, and the choices its forms offer.

Built on the ticket desk (``answering/desk``): its queries, its JSON shapes — which apply the
principal's masking (:class:`~frontdesk.answering.desk.visibility.TicketAccess`) — and its
lifecycle. Nothing here decides who sees or may do what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering import accounts
from frontdesk.answering.desk import lifecycle
from frontdesk.answering.desk.queries import TicketFilter
from frontdesk.answering.desk.schemas import TicketDetailOut
from frontdesk.answering.desk.visibility import TicketAccess
from frontdesk.errors import InvalidInput
from frontdesk.web.params import id_param, query_text

OPEN: Final = "open"
EVERY: Final = "all"
STATUS_CHOICES: Final = (
    (OPEN, "Open (needs someone)"),
    (EVERY, "Every status"),
    *((s, s.capitalize()) for s in lifecycle.STATUSES),
)
ASSIGNEE_CHOICES: Final = (("", "Anyone or nobody"), ("me", "Assigned to me"), ("none", "Nobody"))


def dob(value: str) -> str:
    """``19891230`` → ``1989-12-30`` (anything else, a mask included, as it is)."""
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def status_tabs(counts: Mapping[str, int]) -> list[tuple[str, str, int]]:
    """(filter value, label, count) of the status tabs: open, each status, every status."""
    tabs = [(OPEN, "Open", sum(counts.get(s, 0) for s in lifecycle.OPEN))]
    tabs += [(s, s.capitalize(), counts.get(s, 0)) for s in lifecycle.STATUSES]
    return [*tabs, (EVERY, "All", sum(counts.values()))]


def status_class(status: str) -> str:
    """The CSS class of a status badge: ``status-callback-pending``."""
    return "status-" + "-".join(status.lower().split())


@dataclass(frozen=True)
class Queue:
    """The queue's filters; what is not in the URL takes its default (open tickets)."""

    practice: str | None = None
    status: str = OPEN
    assignee: str = ""
    text: str | None = None

    def statuses(self) -> tuple[str, ...]:
        if self.status == OPEN:
            return tuple(sorted(lifecycle.OPEN))
        return () if self.status == EVERY else (self.status,)

    def ticket_filter(self, *, me: str, with_status: bool = True) -> TicketFilter:
        """The desk's filter; ``me`` is the username "assigned to me" means."""
        return TicketFilter(
            practices=(self.practice,) if self.practice else (),
            statuses=self.statuses() if with_status else (),
            assignee=me if self.assignee == "me" else (self.assignee or None),
            text=self.text,
        )

    def url(self, *, after: int | None = None, status: str | None = None) -> str:
        """``/tickets?…`` with these filters (another ``status``), from position ``after``."""
        queue = replace(self, status=status) if status else self
        values = {
            "practice": queue.practice or "",
            "status": "" if queue.status == OPEN else queue.status,
            "assignee": queue.assignee,
            "q": queue.text or "",
            "after": str(after) if after is not None else "",
        }
        query = urlencode({k: v for k, v in values.items() if v})
        return "/tickets" + ("?" + query if query else "")


def parse_queue(params: Mapping[str, str], *, may_search: bool) -> tuple[Queue, int | None]:
    """The filters and the page cursor from the query string (422 for a value out of range)."""
    status = query_text(params.get("status"), limit=40) or OPEN
    if status not in (OPEN, EVERY):
        normalised = lifecycle.normalise_status(status)
        if normalised is None:
            raise InvalidInput("status is not a ticket status", field="status")
        status = normalised
    assignee = query_text(params.get("assignee"), limit=8) or ""
    if assignee not in {value for value, _ in ASSIGNEE_CHOICES}:
        raise InvalidInput("assignee must be me or none", field="assignee")
    after = id_param(params, "after", "after is not a ticket position")
    queue = Queue(
        practice=query_text(params.get("practice"), limit=64),
        status=status,
        assignee=assignee,
        # A role that may not see patient details may not search them either (the desk
        # refuses it): the field is not offered, and a hand-made URL is ignored.
        text=query_text(params.get("q"), limit=200) if may_search else None,
    )
    return queue, after


def actor_name(actor: str) -> str:
    """``user:nina`` → ``nina``; an answering-service user or an API key says what it is."""
    kind, _, name = actor.partition(":")
    if not name:
        return actor
    return {
        "answering_user": f"{name} (answering service)",
        "api_key": f"API key {name}",
        "system": f"{name} (command line)",
    }.get(kind, name)


@dataclass(frozen=True)
class Entry:
    """One line of a ticket's history: a status step, a note or a re-filing."""

    at: datetime
    kind: str  # received, status, assigned, note, refiled
    actor: str
    title: str
    status: str | None = None
    text: str | None = None  # free text, already masked for roles that may not see it


def _step_title(status: str, before: str | None, assignee: str | None) -> tuple[str, str]:
    if before is None:
        return "received", "Received from the answering service"
    if status == lifecycle.ASSIGNED:
        verb = "Re-assigned" if before == lifecycle.ASSIGNED else "Assigned"
        return "assigned", f"{verb} to {assignee or 'nobody'}"
    if status == lifecycle.IN_PROGRESS and before == lifecycle.ASSIGNED:
        return "status", f"{before} → {status} (unassigned)"
    return "status", f"{before} → {status}"


def timeline(ticket: TicketDetailOut) -> list[Entry]:
    """Status history, notes and re-filings in the order they happened (oldest first)."""
    entries = []
    for step in ticket.history:
        kind, title = _step_title(step.status, step.fromStatus, step.assignee)
        entries.append(
            Entry(step.at, kind, actor_name(step.actor), title, step.status, step.note or None)
        )
    for r in ticket.refilings:
        doctor = f", doctor {r.toDoctor}" if r.toDoctor else ""
        was = " (Unassigned practice)" if r.wasUnassigned else ""
        title = f"Re-filed from {r.fromPractice}{was} to {r.toPractice}{doctor}"
        entries.append(Entry(r.at, "refiled", actor_name(r.actor), title, text=r.reason))
    for n in ticket.notes:
        entries.append(Entry(n.at, "note", actor_name(n.actor), "Note", text=n.body))
    # Stable: at one instant, the status steps come first, then re-filings, then notes.
    return sorted(entries, key=lambda e: e.at)


def next_statuses(status: str) -> list[str]:
    """What "Change status" offers: the lifecycle's next states but ``ASSIGNED``, which is
    reached by assigning."""
    return [s for s in lifecycle.allowed_next(status) if s != lifecycle.ASSIGNED]


def may_assign(status: str) -> bool:
    return status == lifecycle.ASSIGNED or lifecycle.is_allowed(status, lifecycle.ASSIGNED)


@dataclass(frozen=True)
class TicketPractice:
    """A practice of the call center, with its doctors (code, name) for re-filing."""

    code: str
    name: str
    doctors: list[tuple[str, str]]


async def ticket_practices(
    session: AsyncSession, access: TicketAccess, *, with_doctors: bool = False
) -> list[TicketPractice]:
    """The practices whose tickets ``access`` sees; with ``with_doctors``, every practice and
    its doctors — the re-filing targets (a nurse may file a ticket where it belongs, also
    under a practice she does not work)."""
    doctors: dict[str, list[tuple[str, str]]] = {}
    if with_doctors:
        for doctor, code in await accounts.list_doctors(session):
            doctors.setdefault(code, []).append((doctor.code, doctor.name))
    return [
        TicketPractice(p.code, p.name, doctors.get(p.code, []))
        for p in await accounts.list_practices(session)
        if with_doctors or access.sees_practice(p.code)
    ]
