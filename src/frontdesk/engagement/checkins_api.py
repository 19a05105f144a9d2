"""HTTP: the decision log (``/api/checkins``): search, counts per reason, explain one.

Patient names, email, phone and birth date are masked unless ``reveal=true`` by a staff key
(then audited). Another tenant's check-in answers 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.engagement import checkin_queries as queries
from frontdesk.server.dependencies import get_context
from frontdesk.server.paging import BeforeIdParam, CursorParam, LimitParam, PageOut, first_cursor

router = APIRouter(prefix="/api/checkins", tags=["checkins"])
Context = Annotated[AppContext, Depends(get_context)]


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CheckInOut(_Out):
    id: int
    run_id: int
    group_id: int
    source_id: int
    trigger_id: int | None
    mapping_id: int | None
    business_number: int | None
    appointment_id: str
    patient_id: str
    appointment_start: str
    appointment_day: str
    pms_appointment_status: str
    pms_appointment_type: str
    pms_appointment_practice_name: str
    decision: str
    restriction_reason: str | None
    restriction_words: str | None
    detail: str | None
    decided_at: str
    patient: dict[str, str | None]
    revealed: bool


class StepOut(_Out):
    rule: str
    words: str
    outcome: str
    why: str


class ExplainedOut(CheckInOut):
    rules: list[StepOut]


class SummaryOut(_Out):
    day: str
    total: int
    eligible: int
    restricted: dict[str, int]


@router.get("", response_model=PageOut[CheckInOut], response_model_by_alias=True)
async def checkins_search(
    ctx: Context,
    principal: CurrentPrincipal,
    businessNumber: DbId | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    appointmentId: str | None = None,
    patientId: str | None = None,
    reason: str | None = None,
    decision: str | None = None,
    limit: LimitParam = 100,
    cursor: CursorParam = None,
    before_id: BeforeIdParam = None,
    reveal: bool = False,
) -> PageOut[CheckInOut]:
    """Check-ins by business, appointment-day range, appointment id, patient id, reason;
    newest first, one page (``nextCursor``) at a time."""
    filters = queries.Filters(
        business_number=businessNumber,
        first=from_,
        last=to,
        appointment_id=appointmentId,
        patient_id=patientId,
        reason=reason,
        decision=decision,
    )
    async with ctx.db.transaction() if reveal else ctx.db.reader() as session:
        found = await queries.search(
            session,
            principal=principal,
            filters=filters,
            limit=limit,
            cursor=first_cursor(cursor, before_id),
        )
        if reveal:
            await queries.audit_reveal(
                session,
                principal=principal,
                clock=ctx.clock,
                checkin_ids=[c.id for c in found.items],
            )
        shown = await queries.views(session, found.items, secrets=ctx.secrets, reveal=reveal)
    return PageOut[CheckInOut](
        items=[CheckInOut(**v.as_dict()) for v in shown], nextCursor=found.next_cursor
    )


@router.get("/summary", response_model=SummaryOut, response_model_by_alias=True)
async def checkins_summary(
    ctx: Context, principal: CurrentPrincipal, businessNumber: DbId, day: date
) -> SummaryOut:
    """Counts of one appointment day: eligible, restricted per reason."""
    async with ctx.db.reader() as session:
        counts = await queries.summary(
            session, principal=principal, business_number=businessNumber, day=day
        )
    return SummaryOut(**counts)


@router.get("/{checkinId}", response_model=ExplainedOut, response_model_by_alias=True)
async def checkins_explain(
    checkinId: DbId, ctx: Context, principal: CurrentPrincipal, reveal: bool = False
) -> ExplainedOut:
    """One check-in with every rule evaluated and why."""
    async with ctx.db.transaction() if reveal else ctx.db.reader() as session:
        checkin = await queries.get_checkin(session, principal=principal, checkin_id=checkinId)
        if reveal:
            await queries.audit_reveal(
                session, principal=principal, clock=ctx.clock, checkin_ids=[checkin.id]
            )
        (view,) = await queries.views(session, [checkin], secrets=ctx.secrets, reveal=reveal)
        steps = await queries.explanation(session, checkin)
    return ExplainedOut(
        **view.as_dict(),
        rules=[StepOut(rule=s.rule, words=s.words, outcome=s.outcome, why=s.why) for s in steps],
    )
