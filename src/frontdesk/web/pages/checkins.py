"""The Check-ins page: every decision with its reason in plain words — "why wasn't my patient
asked?".

``GET /checkins`` lists one appointment day (by default the latest with decisions) of the
visible practices, a practice or one of its locations, with the day's counts per reason on
top; an appointment id or a patient id searches every day. Rows come in appointment order,
paged by keyset on ``(appointment_start, id)`` (``after`` / ``before``), never by OFFSET.
htmx requests get the ``#checkins`` fragment only. ``GET /checkins/{id}`` explains one
decision rule by rule (``engagement/explain.py``).

Both need ``view_checkins`` (admin, support, viewer; a nurse gets 403). Patient fields are
decrypted only for roles with ``see_patient_details`` and always printed through
``patient_detail``; nothing about a patient is logged. Another tenant's check-in is a 404.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.businesses.models import Business
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.engagement import checkin_queries as queries
from frontdesk.engagement.checkin_models import ELIGIBLE, RESTRICTED, CheckIn
from frontdesk.engagement.reasons import ORDER, words
from frontdesk.errors import InvalidInput
from frontdesk.security.secrets import SecretBox
from frontdesk.server.dependencies import get_context
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import StaffContext, require
from frontdesk.web.params import business_number, query_text
from frontdesk.web.practices import practice_choices
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_CHECKINS))]

PAGE_SIZE = 50
HIDDEN = "hidden"  # what a masked role's templates get instead of a decrypted value
OUTCOME_LABELS = {ELIGIBLE: "Eligible", RESTRICTED: "Restricted (any reason)"}


@dataclass(frozen=True)
class Row:
    """One check-in as the table shows it."""

    checkin: CheckIn
    business: Business | None
    timezone: str
    patient_name: str
    reason_words: str | None


def _parse(params: Mapping[str, str]) -> tuple[queries.Browse, bool]:
    """The filters from the query string; also whether ``day`` was given at all."""
    number = business_number(params)
    day = query_text(params.get("day"), limit=10)
    try:
        on = date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidInput("day is not a date (YYYY-MM-DD)", field="day") from None
    outcome = query_text(params.get("reason"), limit=32)
    return (
        queries.Browse(
            business_number=number,
            location_name=query_text(params.get("location"), limit=200),
            day=on,
            appointment_id=query_text(params.get("appointment")),
            patient_id=query_text(params.get("patient")),
            outcome=outcome,
        ),
        "day" in params,
    )


def _query(browse: queries.Browse, **extra: str) -> str:
    values = {
        "business": str(browse.business_number or ""),
        "location": browse.location_name or "",
        "day": browse.day.isoformat() if browse.day else "",
        "appointment": browse.appointment_id or "",
        "patient": browse.patient_id or "",
        "reason": browse.outcome or "",
        **extra,
    }
    # "day" stays even when empty: no day means every day, a missing one the latest day.
    return "/checkins?" + urlencode({k: v for k, v in values.items() if v or k == "day"})


async def _businesses(session: AsyncSession, rows: Sequence[CheckIn]) -> dict[int, Business]:
    ids = {c.business_id or c.scope_business_id for c in rows} | {c.scope_business_id for c in rows}
    if not ids:
        return {}
    found = await session.execute(select(Business).where(Business.id.in_(ids)))
    return {b.id: b for b in found.scalars()}


def _patient(checkin: CheckIn, secrets: SecretBox, reveal: bool) -> dict[str, str]:
    """Patient fields for display: decrypted only for roles that may see them."""
    if not checkin.patient_sealed:
        return {}
    if not reveal:
        return {field: HIDDEN for field in queries.PATIENT_FIELDS}
    data: dict[str, Any] = json.loads(secrets.decrypt(checkin.patient_sealed))
    return {f: str(data[f]) for f in queries.PATIENT_FIELDS if data.get(f)}


def _name(patient: Mapping[str, str]) -> str:
    return " ".join(p for p in (patient.get("first_name"), patient.get("last_name")) if p)


def _rows(
    rows: Sequence[CheckIn], businesses: Mapping[int, Business], secrets: SecretBox, reveal: bool
) -> list[Row]:
    shown = []
    for c in rows:
        business = businesses.get(c.business_id) if c.business_id else None
        zone = business or businesses.get(c.scope_business_id)
        shown.append(
            Row(
                checkin=c,
                business=business,
                timezone=zone.timezone if zone else "UTC",
                patient_name=_name(_patient(c, secrets, reveal)),
                reason_words=words(c.restriction_reason),
            )
        )
    return shown


@router.get("/checkins", response_class=HTMLResponse)
async def checkins(request: Request, ctx: Context, staff: Viewer) -> Response:
    """The decision log of one day, or every day for an appointment or patient id."""
    params = request.query_params
    browse, day_given = _parse(params)
    after = params.get("after")
    before = params.get("before")
    reveal = staff.can(Permission.SEE_PATIENT_DETAILS)
    async with ctx.db.reader() as session:
        practices = await practice_choices(session, principal=staff.principal)
        if not day_given:
            latest = await queries.latest_day(
                session, principal=staff.principal, business_number=browse.business_number
            )
            browse = replace(browse, day=latest)
        page = await queries.browse_page(
            session,
            principal=staff.principal,
            browse=browse,
            after=queries.Cursor.parse(after, field="after") if after else None,
            before=queries.Cursor.parse(before, field="before") if before else None,
            size=PAGE_SIZE,
        )
        eligible, restricted = await queries.day_counts(
            session, principal=staff.principal, browse=browse
        )
        locations = (
            await queries.location_names(
                session,
                principal=staff.principal,
                business_number=browse.business_number,
                day=browse.day,
            )
            if browse.day
            else []
        )
        if browse.location_name and browse.location_name not in locations:
            locations = sorted([*locations, browse.location_name])
        rows = _rows(page.rows, await _businesses(session, page.rows), ctx.secrets, reveal)
        fragment = bool(request.headers.get("HX-Request")) and not request.headers.get(
            "HX-History-Restore-Request"
        )
        restricted_total = sum(count for _, count in restricted)
        return render(
            request,
            "checkins/_body.html" if fragment else "checkins/page.html",
            staff=staff,
            section="checkins",
            browse=browse,
            by_id=bool(browse.appointment_id or browse.patient_id),
            practices=practices,
            locations=locations,
            reasons=[(r.value, r.words) for r in ORDER],
            outcome_label=OUTCOME_LABELS.get(browse.outcome or "") or words(browse.outcome),
            rows=rows,
            counts={
                "total": eligible + restricted_total,
                "eligible": eligible,
                "restricted": restricted_total,
                "reasons": [(code, words(code), count) for code, count in restricted],
            },
            previous_url=_query(browse, before=page.previous.token()) if page.previous else None,
            next_url=_query(browse, after=page.next.token()) if page.next else None,
            url_for=lambda **changes: _query(replace(browse, **changes)),
            first_url=_query(browse) if page.previous else None,
        )


@router.get("/checkins/{checkin_id}", response_class=HTMLResponse)
async def checkin_detail(
    request: Request, checkin_id: DbId, ctx: Context, staff: Viewer
) -> Response:
    """One decision with every rule evaluated and why, in plain words."""
    reveal = staff.can(Permission.SEE_PATIENT_DETAILS)
    async with ctx.db.reader() as session:
        checkin = await queries.get_checkin(
            session, principal=staff.principal, checkin_id=checkin_id
        )
        businesses = await _businesses(session, [checkin])
        (row,) = _rows([checkin], businesses, ctx.secrets, reveal)
        steps = await queries.explanation(session, checkin)
        failing = next((s for s in steps if s.outcome == "restricted"), None)
        return render(
            request,
            "checkins/detail.html",
            staff=staff,
            section="checkins",
            row=row,
            checkin=checkin,
            practice=businesses.get(checkin.scope_business_id),
            patient=_patient(checkin, ctx.secrets, reveal),
            steps=steps,
            failing=failing,
            back=_query(queries.Browse(day=checkin.appointment_day)),
        )
