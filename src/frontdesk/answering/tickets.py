"""Ticket submission (``as``/``adi``) and ``ticketStatus`` (spec §4.5-4.6).

Validation runs in the spec's order and stops at the first failing stage: token (408),
required fields (407, one entry per missing field), ``dob`` (410), practice access (405),
doctor (406, 414, 411), persistence (409). Accepted tickets are written through the process's
:class:`~frontdesk.answering.group_commit.GroupCommitter` with SQLAlchemy Core: concurrent
submissions share one transaction (one multi-row INSERT for the tickets, one for their first
status-history rows).

Tickets belong to the API user's company; other companies' API users get 406 "Invalid Ticket"
for them, exactly as for ids that do not exist.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import String, Table, and_, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.failures import AnsweringFailure, ApiError, Failure, is_blank
from frontdesk.answering.group_commit import BatchPlan
from frontdesk.answering.models import (
    AnsweringDoctor,
    AnsweringPractice,
    AnsweringTicket,
    AnsweringTicketStatus,
    AnsweringUserPractice,
)
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.answering.tokens import Caller, random_alphanumeric
from frontdesk.context import AppContext
from frontdesk.db.types import UTCDateTime
from frontdesk.logs import get_logger

log = get_logger(__name__)

TICKET_ID_LENGTH = 9
STATUS_IN_PROGRESS = "IN PROGRESS"
RESULT_KEYS = (
    "field_mr",
    "call_type",
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
    "ticket_id",
    "notes",
)
"""The 19 keys of the success result, in the vendor's order."""
REQUIRED = ("patient_lname", "patient_fname", "dob", "complaint", "prac", "client_code")
STORED_ONLY = ("prac", "client_code", "dc", "comments", "txt")
_ECHOED = tuple(k for k in RESULT_KEYS if k not in ("ticket_id", "notes", "call_type"))
_tickets = cast(Table, AnsweringTicket.__table__)
_history = cast(Table, AnsweringTicketStatus.__table__)
_practices = cast(Table, AnsweringPractice.__table__)
_access = cast(Table, AnsweringUserPractice.__table__)
_doctors = cast(Table, AnsweringDoctor.__table__)


def new_ticket_id() -> str:
    return random_alphanumeric(TICKET_ID_LENGTH)


def valid_dob(value: str, *, strict: bool, today: date) -> bool:
    """``YYYYMMDD``: 8 ASCII digits and a real date; ``strict`` adds 1900 ≤ year, not future."""
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        return False
    try:
        born = date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return not strict or (born.year >= 1900 and born <= today)


def ticket_fields(params: Mapping[str, str]) -> dict[str, str]:
    """The submitted ticket fields (``""`` when not sent); ``Call_type`` beats ``call_type``."""
    out = {k: params.get(k, "") for k in (*_ECHOED, *STORED_ONLY)}
    out["call_type"] = params["Call_type"] if "Call_type" in params else params.get("call_type", "")
    return out


@dataclass(frozen=True, slots=True)
class NewTicket:
    values: dict[str, Any]
    actor: str


_NewTicket = NewTicket  # the name tests/answering/test_group_commit.py imports


_INSERT_TICKET = insert(_tickets)
_INSERT_FIRST_STATUS = insert(_history).from_select(
    ["ticket_pk", "status", "at", "actor"],
    select(
        _tickets.c.id,
        bindparam("first_status", type_=String()),
        bindparam("status_at", type_=UTCDateTime()),
        bindparam("status_actor", type_=String()),
    ).where(_tickets.c.ticket_id == bindparam("new_ticket_id")),
)


class TicketWriter:
    """Group-commit writer: inserts tickets and their first status row; returns ticket ids."""

    def __init__(self, make_id: Callable[[], str] = new_ticket_id, attempts: int = 5) -> None:
        self.make_id = make_id
        self.attempts = attempts

    def plan(self, items: Sequence[NewTicket]) -> BatchPlan[str]:
        rows = [item.values for item in items]
        history = [
            {
                "first_status": row["status"],
                "status_at": row["created_at"],
                "status_actor": item.actor,
                "new_ticket_id": row["ticket_id"],
            }
            for row, item in zip(rows, items, strict=True)
        ]
        return BatchPlan(
            steps=[(_INSERT_TICKET, rows), (_INSERT_FIRST_STATUS, history)],
            results=[row["ticket_id"] for row in rows],
        )

    async def write_one(self, session: AsyncSession, item: NewTicket) -> str:
        """Insert one ticket, drawing a new ticket id when the drawn one is taken."""
        values = dict(item.values)
        for attempt in range(self.attempts):
            try:
                async with session.begin_nested():
                    plan = self.plan([NewTicket(values, item.actor)])
                    for statement, rows in plan.steps:
                        await session.execute(statement, rows)
                    return plan.results[0]
            except IntegrityError:
                if attempt + 1 == self.attempts:
                    raise
                values["ticket_id"] = self.make_id()
        raise AssertionError("unreachable")


TICKET_WRITER = TicketWriter()
"""The writer of the hot path (stateless: its id maker and attempts only)."""


@dataclass(frozen=True, slots=True)
class PreparedTicket:
    """A validated submission: the row to insert and the result it answers (minus its id)."""

    item: NewTicket
    result: dict[str, str]
    request_hash: str
    """SHA-256 of the submitted fields (``content_hash``): what idempotency keys compare."""

    def answer(self, ticket_id: str) -> dict[str, str]:
        return {**self.result, "ticket_id": ticket_id}


async def prepare_ticket(
    ctx: AppContext, runtime: AnsweringRuntime, *, caller: Caller, params: Mapping[str, str]
) -> PreparedTicket:
    """Validate one submission (407, 410, 405, 406/414/411) and build its row; writes nothing."""
    fields = ticket_fields(params)
    required = [
        f for f in REQUIRED if not (f == "client_code" and runtime.options.allow_empty_client_code)
    ]
    missing = [f for f in required if is_blank(fields[f])]
    if missing:
        code = Failure.MISSING_FIELD.code
        errors = [ApiError(code, f"{Failure.MISSING_FIELD.message}: {f}") for f in missing]
        raise AnsweringFailure(Failure.MISSING_FIELD, errors)
    now = ctx.clock.now()
    local = now.astimezone(ZoneInfo(runtime.options.notes_timezone))
    if not valid_dob(fields["dob"], strict=runtime.options.strict_dob, today=local.date()):
        raise AnsweringFailure(Failure.INVALID_DOB)
    practice_id, doctor_id, unassigned = await _resolve(ctx, runtime, caller=caller, fields=fields)
    notes = (
        f"{local:%Y-%m-%d %H:%M:%S} : Created by Answering Service API v2.0 "
        f"from {caller.company_name} by {caller.username}"
    )
    content_hash = _content_hash(fields)
    values: dict[str, Any] = {
        **fields,
        "ticket_id": new_ticket_id(),
        "company_id": caller.company_id,
        "user_id": caller.user_id,
        "practice_id": practice_id,
        "doctor_id": doctor_id,
        "unassigned": unassigned,
        "status": STATUS_IN_PROGRESS,
        "notes": notes,
        "content_hash": content_hash,
        "created_at": now,
    }
    result = {k: fields.get(k, "") for k in RESULT_KEYS}
    result["notes"] = notes
    item = NewTicket(values, actor=f"answering_user:{caller.username}")
    return PreparedTicket(item=item, result=result, request_hash=content_hash)


def log_created(caller: Caller, prepared: PreparedTicket, ticket_id: str) -> None:
    values = prepared.item.values
    log.info(
        "answering.ticket_created",
        ticket_id=ticket_id,
        user=caller.username,
        company_id=caller.company_id,
        practice_id=values["practice_id"],
        unassigned=values["unassigned"],
        content_hash=prepared.request_hash[:16],
    )


async def create_ticket(
    ctx: AppContext, runtime: AnsweringRuntime, *, caller: Caller, params: Mapping[str, str]
) -> dict[str, str]:
    """Validate and store one ticket; the 19-key result, or :class:`AnsweringFailure`."""
    prepared = await prepare_ticket(ctx, runtime, caller=caller, params=params)
    ticket_id = await runtime.committer.submit(TICKET_WRITER, prepared.item)
    log_created(caller, prepared, ticket_id)
    if runtime.meter is not None:
        runtime.meter.ticket_created()
    return prepared.answer(ticket_id)


def request_hash(params: Mapping[str, str]) -> str:
    """The hash of a submission's ticket fields (token and idempotency key are not fields)."""
    return _content_hash(ticket_fields(params))


def stored_result(ticket: Mapping[Any, Any]) -> dict[str, str]:
    """The 19-key result of a stored ticket (its columns carry the result's names)."""
    return {k: str(ticket[k]) for k in RESULT_KEYS}


async def _resolve(
    ctx: AppContext, runtime: AnsweringRuntime, *, caller: Caller, fields: Mapping[str, str]
) -> tuple[int, int | None, bool]:
    """(practice id, doctor id, unassigned) or 405/406/414/411 (spec §4.5 stages 4-5)."""
    prac = fields["prac"].strip()
    dc = fields["dc"].strip()
    now = ctx.clock.now()
    found = await runtime.practices.get(
        (caller.user_id, prac), now, lambda: _load_practice(ctx, caller.user_id, prac)
    )
    if found is None:
        # Ambiguity 17: an unknown practice is 405 unless the company files it as Unassigned;
        # the doctor code of an Unassigned ticket is kept as sent, for staff to resolve.
        if caller.unassigned_practice_id is None:
            raise AnsweringFailure(Failure.NO_PRACTICE_ACCESS)
        return caller.unassigned_practice_id, None, True
    practice_id, allowed = found
    if not allowed:
        raise AnsweringFailure(Failure.NO_PRACTICE_ACCESS)
    if not dc:
        return practice_id, None, False
    doctors = await runtime.doctors.get(dc, now, lambda: _load_doctors(ctx, dc)) or ()
    if not doctors:
        raise AnsweringFailure(Failure.INVALID_DOCTOR)
    here = [d for d in doctors if d[1] == practice_id]
    if not here:
        raise AnsweringFailure(Failure.DOCTOR_NOT_IN_PRACTICE)
    doctor_id, _, secure_messaging = here[0]
    if not secure_messaging:
        raise AnsweringFailure(Failure.NO_SECURE_MESSAGING)
    return practice_id, doctor_id, False


async def _load_practice(ctx: AppContext, user_id: int, prac: str) -> tuple[int, bool] | None:
    access = select(_access.c.practice_id).where(
        and_(_access.c.practice_id == _practices.c.id, _access.c.user_id == user_id)
    )
    async with ctx.db.reader() as session:
        row = (
            await session.execute(
                select(_practices.c.id, access.exists()).where(_practices.c.code == prac)
            )
        ).first()
    return (row[0], bool(row[1])) if row is not None else None


async def _load_doctors(ctx: AppContext, dc: str) -> tuple[tuple[int, int, bool], ...] | None:
    query = select(_doctors.c.id, _doctors.c.practice_id, _doctors.c.secure_messaging).where(
        _doctors.c.code == dc
    )
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    return tuple((r[0], r[1], bool(r[2])) for r in rows) or None


def _content_hash(fields: Mapping[str, str]) -> str:
    canonical = json.dumps(dict(sorted(fields.items())), separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


async def ticket_status(
    ctx: AppContext, *, caller: Caller, ticket_id: str | None
) -> dict[str, str]:
    """``{"ticket_id", "ticket_status"}`` of a ticket of the caller's company, else 406/413."""
    if is_blank(ticket_id):
        raise AnsweringFailure(Failure.MISSING_TICKET_ID)
    assert ticket_id is not None
    async with ctx.db.reader() as session:
        status = (
            await session.execute(
                select(_tickets.c.status).where(
                    _tickets.c.ticket_id == ticket_id.strip(),
                    _tickets.c.company_id == caller.company_id,
                )
            )
        ).scalar_one_or_none()
    if status is None:
        raise AnsweringFailure(Failure.INVALID_TICKET)
    return {"ticket_id": ticket_id.strip(), "ticket_status": status}
