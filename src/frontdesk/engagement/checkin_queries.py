"""Finding and showing check-ins: search, one with its explanation, counts per reason.

Patient fields (names, email, phone, birth date) are decrypted only to be shown, and masked
unless ``reveal`` — which only a staff principal may ask for, and which is audited.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import LOCATION, visible_business
from frontdesk.clock import Clock
from frontdesk.db import paging
from frontdesk.db.types import UTCDateTime
from frontdesk.engagement.checkin_models import ELIGIBLE, RESTRICTED, CheckIn
from frontdesk.engagement.explain import Step, explain
from frontdesk.engagement.reasons import ORDER, Reason, words
from frontdesk.engagement.rules import MappingRules
from frontdesk.errors import InvalidInput, NotFound, PermissionDenied
from frontdesk.security.secrets import SecretBox
from frontdesk.sync.models import SyncRunMapping

MASK = "********"
PATIENT_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date")


@dataclass(frozen=True)
class Filters:
    """What a search narrows on; days are appointment days (local)."""

    business_number: int | None = None
    first: date | None = None
    last: date | None = None
    appointment_id: str | None = None
    patient_id: str | None = None
    reason: str | None = None
    decision: str | None = None


@dataclass(frozen=True)
class CheckInView:
    """A check-in as shown (snake_case; the API renders camelCase)."""

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mask(field: str, value: str | None) -> str | None:
    """A patient value as shown without ``reveal``: its shape, not its content."""
    if not value:
        return value
    if field == "email" and "@" in value:
        return value[0] + "***@" + value.split("@", 1)[1]
    if field == "phone":
        digits = [c for c in value if c.isdigit()]
        return "***" + "".join(digits[-2:])
    if field == "birth_date":
        return MASK
    return value[0] + "***"


def _patient(checkin: CheckIn, secrets: SecretBox, reveal: bool) -> dict[str, str | None]:
    data: dict[str, Any] = (
        json.loads(secrets.decrypt(checkin.patient_sealed)) if checkin.patient_sealed else {}
    )
    return {f: (data.get(f) if reveal else mask(f, data.get(f))) or None for f in PATIENT_FIELDS}


async def _visibility(session: AsyncSession, principal: Principal, number: int | None) -> Any:
    if number is not None:
        business = await visible_business(session, principal=principal, number=number)
        if business.kind == LOCATION:
            return CheckIn.business_id == business.id
        return CheckIn.scope_business_id == business.id
    if principal.business_scope is None:
        return None
    scope = principal.business_scope
    return or_(CheckIn.scope_business_id == scope, CheckIn.business_id == scope)


async def matching(
    session: AsyncSession, *, principal: Principal, filters: Filters
) -> Select[CheckIn]:
    """The query of check-ins matching ``filters`` that ``principal`` may see (page it with
    ``frontdesk.db.paging`` on ``CheckIn.id``, newest first)."""
    query = select(CheckIn)
    visible = await _visibility(session, principal, filters.business_number)
    if visible is not None:
        query = query.where(visible)
    if filters.reason is not None:
        if filters.reason not in {r.value for r in Reason}:
            raise InvalidInput("unknown restriction reason", field="reason")
        query = query.where(CheckIn.restriction_reason == filters.reason)
    for column, value in (
        (CheckIn.appointment_id, filters.appointment_id),
        (CheckIn.patient_id, filters.patient_id),
        (CheckIn.decision, filters.decision),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.first is not None:
        query = query.where(CheckIn.appointment_day >= filters.first)
    if filters.last is not None:
        query = query.where(CheckIn.appointment_day <= filters.last)
    return query


async def search(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: Filters,
    limit: int,
    cursor: str | None = None,
) -> paging.Page[CheckIn]:
    """One page of matching check-ins, newest first, and the cursor of the next."""
    query = await matching(session, principal=principal, filters=filters)
    below = paging.decode_cursor(cursor)
    return await paging.page(session, query, CheckIn.id, limit=limit, below=below)


async def get_checkin(session: AsyncSession, *, principal: Principal, checkin_id: int) -> CheckIn:
    """One check-in (404 ``checkinId`` when missing or another tenant's)."""
    checkin = await session.get(CheckIn, checkin_id)
    if checkin is not None and principal.business_scope in (
        None,
        checkin.scope_business_id,
        checkin.business_id,
    ):
        return checkin
    raise NotFound(f"check-in {checkin_id} not found", field="checkinId")


async def summary(
    session: AsyncSession, *, principal: Principal, business_number: int, day: date
) -> dict[str, Any]:
    """Counts of one appointment day: eligible, and restricted per reason."""
    visible = await _visibility(session, principal, business_number)
    rows = await session.execute(
        select(CheckIn.decision, CheckIn.restriction_reason, func.count())
        .where(visible, CheckIn.appointment_day == day)
        .group_by(CheckIn.decision, CheckIn.restriction_reason)
    )
    eligible, total = 0, 0
    restricted: dict[str, int] = {}
    for _decision, reason, count in rows:
        total += count
        if reason is None:
            eligible += count
        else:
            restricted[reason] = count
    return {
        "day": day.isoformat(),
        "total": total,
        "eligible": eligible,
        "restricted": dict(sorted(restricted.items())),
    }


async def audit_reveal(
    session: AsyncSession, *, principal: Principal, clock: Clock, checkin_ids: Sequence[int]
) -> None:
    """Only staff may see patient fields; every reveal is in the audit log (ids only)."""
    if not principal.is_staff:
        raise PermissionDenied("only staff may reveal patient fields", field="reveal")
    if checkin_ids:
        await record_event(
            session,
            clock=clock,
            actor=principal,
            action="checkins.reveal",
            target_type="checkin",
            target_id=",".join(str(i) for i in checkin_ids[:50]),
            business_id=None,
            details={"count": len(checkin_ids)},
        )


async def views(
    session: AsyncSession, checkins: Sequence[CheckIn], *, secrets: SecretBox, reveal: bool
) -> list[CheckInView]:
    """Render check-ins (business numbers looked up once)."""
    ids = {c.business_id for c in checkins if c.business_id is not None}
    numbers: dict[int, int] = {}
    if ids:
        rows = await session.execute(
            select(Business.id, Business.number).where(Business.id.in_(ids))
        )
        numbers = {bid: number for bid, number in rows}
    return [
        CheckInView(
            id=c.id,
            run_id=c.run_id,
            group_id=c.group_id,
            source_id=c.source_id,
            trigger_id=c.trigger_id,
            mapping_id=c.mapping_id,
            business_number=numbers.get(c.business_id) if c.business_id else None,
            appointment_id=c.appointment_id,
            patient_id=c.patient_id,
            appointment_start=c.appointment_start.isoformat(),
            appointment_day=c.appointment_day.isoformat(),
            pms_appointment_status=c.pms_appointment_status,
            pms_appointment_type=c.pms_appointment_type,
            pms_appointment_practice_name=c.pms_appointment_practice_name,
            decision=c.decision,
            restriction_reason=c.restriction_reason,
            restriction_words=words(c.restriction_reason),
            detail=c.detail,
            decided_at=c.decided_at.isoformat(),
            patient=_patient(c, secrets, reveal),
            revealed=reveal,
        )
        for c in checkins
    ]


async def explanation(session: AsyncSession, checkin: CheckIn) -> list[Step]:
    """Every rule for ``checkin``, with the settings its run used."""
    rules = None
    if checkin.mapping_id is not None:
        row = await session.get(SyncRunMapping, (checkin.run_id, checkin.mapping_id))
        if row is not None and row.rules is not None:
            rules = MappingRules.from_json(row.rules)
    return explain(checkin, rules)


# The dashboard's Check-ins page: one day (or, for an id search, every day) in appointment
# order, paged by keyset on (appointment_start, id) — the indexes of migration 0011.

OUTCOMES = (ELIGIBLE, RESTRICTED)


@dataclass(frozen=True)
class Browse:
    """What the Check-ins page narrows on; ``outcome`` is eligible, restricted or a reason."""

    business_number: int | None = None
    location_name: str | None = None
    day: date | None = None
    appointment_id: str | None = None
    patient_id: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the (appointment_start, id) of a row at a page's edge."""

    start: datetime
    id: int

    def token(self) -> str:
        return f"{self.start.astimezone(UTC):%Y%m%d%H%M%S%f}.{self.id}"

    @classmethod
    def parse(cls, token: str, *, field: str) -> Cursor:
        try:
            stamp, _, number = token.partition(".")
            start = datetime.strptime(stamp, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
            return cls(start, int(number))
        except ValueError:
            raise InvalidInput("not a page position", field=field) from None


@dataclass(frozen=True)
class BrowsePage:
    """One page of rows with the positions of the pages around it (None: no such page)."""

    rows: Sequence[CheckIn]
    previous: Cursor | None
    next: Cursor | None


async def _browse_filters(
    session: AsyncSession, principal: Principal, browse: Browse, *, with_day: bool
) -> list[Any]:
    conditions: list[Any] = []
    visible = await _visibility(session, principal, browse.business_number)
    if visible is not None:
        conditions.append(visible)
    if with_day and browse.day is not None:
        conditions.append(CheckIn.appointment_day == browse.day)
    if browse.location_name:
        conditions.append(CheckIn.pms_appointment_practice_name == browse.location_name)
    return conditions


async def latest_day(
    session: AsyncSession, *, principal: Principal, business_number: int | None
) -> date | None:
    """The latest appointment day with decisions that ``principal`` may see."""
    conditions = await _browse_filters(
        session, principal, Browse(business_number=business_number), with_day=False
    )
    found: date | None = await session.scalar(
        select(func.max(CheckIn.appointment_day)).where(*conditions)
    )
    return found


async def browse_page(
    session: AsyncSession,
    *,
    principal: Principal,
    browse: Browse,
    after: Cursor | None = None,
    before: Cursor | None = None,
    size: int = 50,
) -> BrowsePage:
    """A page of check-ins in appointment order; an appointment or patient id spans all days."""
    by_id = bool(browse.appointment_id or browse.patient_id)
    conditions = await _browse_filters(session, principal, browse, with_day=not by_id)
    if browse.appointment_id:
        conditions.append(CheckIn.appointment_id == browse.appointment_id)
    if browse.patient_id:
        conditions.append(CheckIn.patient_id == browse.patient_id)
    if browse.outcome in OUTCOMES:
        conditions.append(CheckIn.decision == browse.outcome)
    elif browse.outcome:
        if browse.outcome not in {r.value for r in Reason}:
            raise InvalidInput("unknown restriction reason", field="reason")
        conditions.append(CheckIn.restriction_reason == browse.outcome)
    key = tuple_(CheckIn.appointment_start, CheckIn.id)
    order: tuple[Any, ...] = (CheckIn.appointment_start, CheckIn.id)
    if before is not None:
        conditions.append(key < tuple_(literal(before.start, UTCDateTime()), literal(before.id)))
        order = (CheckIn.appointment_start.desc(), CheckIn.id.desc())
    elif after is not None:
        conditions.append(key > tuple_(literal(after.start, UTCDateTime()), literal(after.id)))
    query = select(CheckIn).where(*conditions).order_by(*order).limit(size + 1)
    rows = list((await session.execute(query)).scalars().all())
    more = len(rows) > size
    rows = rows[:size]
    if before is not None:
        rows.reverse()
    edge = [Cursor(r.appointment_start, r.id) for r in (rows[0], rows[-1])] if rows else []
    has_previous = more if before is not None else after is not None
    has_next = more if before is None else True
    return BrowsePage(
        rows=rows,
        previous=edge[0] if edge and has_previous else None,
        next=edge[1] if edge and has_next else None,
    )


async def day_counts(
    session: AsyncSession, *, principal: Principal, browse: Browse
) -> tuple[int, list[tuple[str, int]]]:
    """Check-ins of ``browse.day`` (business and location only): eligible, and restricted
    per reason in the rules' order. Returns (eligible, [(reason, count), …])."""
    if browse.day is None:
        return 0, []
    scope = Browse(
        business_number=browse.business_number, location_name=browse.location_name, day=browse.day
    )
    conditions = await _browse_filters(session, principal, scope, with_day=True)
    rows = await session.execute(
        select(CheckIn.restriction_reason, func.count())
        .where(*conditions)
        .group_by(CheckIn.restriction_reason)
    )
    eligible, counts = 0, {}
    for reason, count in rows:
        if reason is None:
            eligible = count
        else:
            counts[str(reason)] = int(count)
    rank = {r.value: i for i, r in enumerate(ORDER)}
    return eligible, sorted(counts.items(), key=lambda item: rank.get(item[0], len(rank)))


async def location_names(
    session: AsyncSession, *, principal: Principal, business_number: int | None, day: date
) -> list[str]:
    """The EHR location names of one day's check-ins (the Location filter's choices)."""
    conditions = await _browse_filters(
        session, principal, Browse(business_number=business_number, day=day), with_day=True
    )
    query = select(CheckIn.pms_appointment_practice_name).where(*conditions).distinct()
    return sorted((await session.execute(query)).scalars().all())
