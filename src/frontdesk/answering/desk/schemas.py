"""JSON shapes of the staff ticket API, and rendering that applies the principal's masking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from frontdesk.answering.desk import lifecycle
from frontdesk.answering.desk.models import AnsweringTicketNote, AnsweringTicketRefiling
from frontdesk.answering.desk.queries import TicketDetail, TicketPage, TicketRow
from frontdesk.answering.desk.visibility import TicketAccess
from frontdesk.answering.desk.webhooks import WebhookConfig
from frontdesk.answering.models import AnsweringTicketStatus
from frontdesk.answering.tickets import RESULT_KEYS, STORED_ONLY
from frontdesk.db.bounds import DbId
from frontdesk.webhooks.models import WebhookEvent

MASKED_SECRET = "********"  # noqa: S105 - the mask, not a secret
FIELD_NAMES = (*STORED_ONLY, *(k for k in RESULT_KEYS if k != "ticket_id"))
"""Every submitted field, by its wire name (and the creation ``notes`` line)."""


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(min_length=1, max_length=40, description="the target status")
    note: str | None = Field(default=None, max_length=10_000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=10_000)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str | DbId = Field(description="a staff user's id or username")
    note: str | None = Field(default=None, max_length=10_000)


class RefileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    practice: str = Field(min_length=1, max_length=64, description="the practice code")
    doctor: str | None = Field(default=None, max_length=64, description="a doctor code of it")
    reason: str = Field(min_length=1, max_length=10_000)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        description="omit to keep the current one, or to have one generated (shown once)",
    )
    active: bool = True


class PracticeLinksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    practices: list[str] = Field(description="practice codes the user works (may be empty)")


class PracticeLinksOut(BaseModel):
    userId: int
    username: str
    role: str
    practices: list[str]


class CompanyRef(BaseModel):
    id: int
    name: str


class PracticeRef(BaseModel):
    code: str
    name: str


class AssigneeOut(BaseModel):
    id: int | None
    username: str


class PatientOut(BaseModel):
    lastName: str
    firstName: str
    dob: str


class TicketSummaryOut(BaseModel):
    ticketId: str
    status: str
    company: CompanyRef
    practice: PracticeRef
    doctor: str | None
    unassignedPractice: bool = Field(
        description="filed under the company's Unassigned practice (unknown prac)"
    )
    assignee: AssigneeOut | None
    createdAt: datetime
    patient: PatientOut
    complaint: str


class HistoryOut(BaseModel):
    status: str
    fromStatus: str | None
    at: datetime
    actor: str
    actorRole: str | None
    assignee: str | None
    note: str | None


class NoteOut(BaseModel):
    id: int
    body: str
    actor: str
    actorRole: str
    at: datetime


class RefilingOut(BaseModel):
    id: int
    fromPractice: str
    toPractice: str
    fromDoctor: str | None
    toDoctor: str | None
    wasUnassigned: bool
    reason: str
    actor: str
    actorRole: str
    at: datetime


class TicketDetailOut(TicketSummaryOut):
    fields: dict[str, str]
    allowedNext: list[str]
    history: list[HistoryOut]
    notes: list[NoteOut]
    refilings: list[RefilingOut]


class RefileOut(BaseModel):
    ticketId: str
    refiling: RefilingOut
    ticket: TicketDetailOut | None = Field(
        description="the ticket now, or null when the caller no longer sees it (a nurse who "
        "re-filed it to a practice she does not work)"
    )


class TicketPageOut(BaseModel):
    items: list[TicketSummaryOut]
    nextCursor: int | None = Field(description="pass as ?cursor= for the next page")


class WebhookOut(BaseModel):
    companyId: int
    company: str
    url: str
    active: bool
    secret: str = Field(description="the generated secret once, otherwise ********")
    createdAt: datetime
    updatedAt: datetime


class DeliveryOut(BaseModel):
    id: int
    companyId: int
    event: str
    payload: dict[str, Any]
    state: str
    attempts: int
    nextAttemptAt: datetime | None
    lastStatusCode: int | None
    lastError: str | None
    createdAt: datetime
    updatedAt: datetime
    deliveredAt: datetime | None


class DeliveryPageOut(BaseModel):
    items: list[DeliveryOut]
    nextCursor: int | None


def summary(row: TicketRow, access: TicketAccess) -> dict[str, Any]:
    t = row.ticket
    shown = access.ticket_fields(
        {
            "patient_lname": t.patient_lname,
            "patient_fname": t.patient_fname,
            "dob": t.dob,
            "complaint": t.complaint,
        }
    )
    return {
        "ticketId": t.ticket_id,
        "status": t.status,
        "company": CompanyRef(id=t.company_id, name=row.company_name),
        "practice": PracticeRef(code=row.practice_code, name=row.practice_name),
        "doctor": row.doctor_code,
        "unassignedPractice": t.unassigned,
        "assignee": (
            AssigneeOut(id=t.assignee_user_id, username=t.assignee_name)
            if t.assignee_name
            else None
        ),
        "createdAt": t.created_at,
        "patient": PatientOut(
            lastName=shown["patient_lname"], firstName=shown["patient_fname"], dob=shown["dob"]
        ),
        "complaint": shown["complaint"],
    }


def page_out(page: TicketPage, access: TicketAccess) -> TicketPageOut:
    return TicketPageOut(
        items=[TicketSummaryOut(**summary(row, access)) for row in page.rows],
        nextCursor=page.next_cursor,
    )


def _history(step: AnsweringTicketStatus, access: TicketAccess) -> HistoryOut:
    return HistoryOut(
        status=step.status,
        fromStatus=step.from_status,
        at=step.at,
        actor=step.actor,
        actorRole=step.actor_role,
        assignee=step.assignee,
        note=access.text(step.note),
    )


def note_out(note: AnsweringTicketNote, access: TicketAccess) -> NoteOut:
    return NoteOut(
        id=note.id,
        body=access.text(note.body) or "",
        actor=note.actor,
        actorRole=note.actor_role,
        at=note.at,
    )


def refiling_out(r: AnsweringTicketRefiling, access: TicketAccess) -> RefilingOut:
    return RefilingOut(
        id=r.id,
        fromPractice=r.from_practice,
        toPractice=r.to_practice,
        fromDoctor=r.from_doctor,
        toDoctor=r.to_doctor,
        wasUnassigned=r.was_unassigned,
        reason=access.text(r.reason) or "",
        actor=r.actor,
        actorRole=r.actor_role,
        at=r.at,
    )


def detail_out(detail: TicketDetail, access: TicketAccess) -> TicketDetailOut:
    t = detail.row.ticket
    fields = access.ticket_fields({name: getattr(t, name) for name in FIELD_NAMES})
    return TicketDetailOut(
        **summary(detail.row, access),
        fields=fields,
        allowedNext=list(lifecycle.allowed_next(t.status)),
        history=[_history(step, access) for step in detail.history],
        notes=[note_out(n, access) for n in detail.notes],
        refilings=[refiling_out(r, access) for r in detail.refilings],
    )


def webhook_out(config: WebhookConfig) -> WebhookOut:
    hook = config.hook
    return WebhookOut(
        companyId=hook.company_id,
        company=config.company.name,
        url=hook.url,
        active=hook.active,
        secret=config.new_secret or MASKED_SECRET,
        createdAt=hook.created_at,
        updatedAt=hook.updated_at,
    )


def delivery_out(row: WebhookEvent) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        companyId=row.company_id or 0,
        event=row.event,
        payload=dict(row.payload or {}),
        state=row.state,
        attempts=row.attempts,
        nextAttemptAt=row.next_attempt_at,
        lastStatusCode=row.last_status_code,
        lastError=row.last_error,
        createdAt=row.created_at,
        updatedAt=row.updated_at,
        deliveredAt=row.delivered_at,
    )
