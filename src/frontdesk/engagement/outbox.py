"""The outbox: finding and showing review requests, and the operator's requeue.

The recipient is decrypted only to be shown, masked unless ``reveal`` (staff only, audited).
In the demo (mail capture on), a request's captured message is found by its ``Message-ID``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import LOCATION, visible_business
from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.db import paging
from frontdesk.delivery.capture import get_captured_by_message_id, parse_captured
from frontdesk.delivery.reach import Reach, contact_of
from frontdesk.engagement import ledger
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.checkin_queries import mask
from frontdesk.engagement.ledger_models import REQUEUEABLE, STATES, ReviewRequest
from frontdesk.engagement.sending import ReviewSender
from frontdesk.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from frontdesk.security.secrets import SecretBox


@dataclass(frozen=True)
class OutboxFilters:
    """``first``/``last``: days (UTC) the requests were created."""

    business_number: int | None = None
    state: str | None = None
    first: date | None = None
    last: date | None = None


@dataclass(frozen=True)
class RequestView:
    """A review request as shown (snake_case; the API renders camelCase)."""

    id: int
    checkin_id: int
    business_number: int | None
    appointment_id: str
    appointment_day: str | None
    channel: str
    state: str
    attempts: int
    next_attempt_at: str
    claimed_at: str | None
    sent_at: str | None
    message_id: str | None
    last_error_code: str | None
    last_error: str | None
    created_at: str
    updated_at: str
    recipient: str | None
    revealed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def matching(
    session: AsyncSession, *, principal: Principal, filters: OutboxFilters
) -> Select[ReviewRequest]:
    """The query of requests ``principal`` may see matching ``filters`` (page it with
    ``frontdesk.db.paging`` on ``ReviewRequest.id``, newest first)."""
    query = select(ReviewRequest)
    visible = await visibility(
        session, principal=principal, business_number=filters.business_number
    )
    if visible is not None:
        query = query.where(visible)
    if filters.state is not None:
        if filters.state not in STATES:
            raise InvalidInput(f"state must be one of {', '.join(STATES)}", field="state")
        query = query.where(ReviewRequest.state == filters.state)
    if filters.first is not None:
        query = query.where(ReviewRequest.created_at >= _start(filters.first))
    if filters.last is not None:
        query = query.where(ReviewRequest.created_at < _start(filters.last + timedelta(days=1)))
    return query


async def search(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: OutboxFilters,
    limit: int,
    cursor: str | None = None,
) -> paging.Page[ReviewRequest]:
    """One page of matching requests, newest first, and the cursor of the next."""
    query = await matching(session, principal=principal, filters=filters)
    below = paging.decode_cursor(cursor)
    return await paging.page(session, query, ReviewRequest.id, limit=limit, below=below)


async def visibility(
    session: AsyncSession, *, principal: Principal, business_number: int | None
) -> ColumnElement[bool] | None:
    """The condition for requests of ``business_number`` (a practice: all of its requests; a
    location: its own), or of whatever ``principal`` may see; None: no condition (staff).
    Another tenant's number is a 404."""
    if business_number is not None:
        business = await visible_business(session, principal=principal, number=business_number)
        if business.kind == LOCATION:
            return ReviewRequest.business_id == business.id
        return ReviewRequest.scope_business_id == business.id
    if principal.business_scope is None:
        return None
    scope = principal.business_scope
    return or_(ReviewRequest.scope_business_id == scope, ReviewRequest.business_id == scope)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def get_request(
    session: AsyncSession, *, principal: Principal, request_id: int
) -> ReviewRequest:
    """One request (404 ``requestId`` when missing or another tenant's)."""
    found = await session.get(ReviewRequest, request_id)
    if found is not None and principal.business_scope in (
        None,
        found.scope_business_id,
        found.business_id,
    ):
        return found
    raise NotFound(f"review request {request_id} not found", field="requestId")


async def requeue(
    session: AsyncSession, *, principal: Principal, clock: Clock, request_id: int
) -> ReviewRequest:
    """Operator: a ``failed`` or ``parked`` request goes back to ``pending`` now (audited)."""
    found = await get_request(session, principal=principal, request_id=request_id)
    before = found.state
    if before not in REQUEUEABLE or not await ledger.requeue(
        session, request_id=request_id, now=clock.now()
    ):
        raise Conflict(
            f"only failed or parked requests can be requeued (this one is {before})",
            field="requestId",
        )
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="review_request.requeue",
        target_type="review_request",
        target_id=str(request_id),
        business_id=found.business_id,
        details={"from_state": before, "last_error_code": found.last_error_code},
    )
    await session.refresh(found)
    return found


async def requeue_now(
    ctx: AppContext, sender: ReviewSender, *, principal: Principal, request_id: int
) -> ReviewRequest:
    """:func:`requeue` in a transaction of its own, then hand the request to this process's
    sender (the embedded runner's), so it goes now rather than at the next sweep. Returns
    the request as requeued (``pending``), detached."""
    async with ctx.db.transaction() as session:
        found = await requeue(session, principal=principal, clock=ctx.clock, request_id=request_id)
    await sender.defer([request_id])  # no-op where this process has no queue
    return found


async def audit_reveal(
    session: AsyncSession, *, principal: Principal, clock: Clock, request_ids: Sequence[int]
) -> None:
    """Only staff may see recipients; every reveal is in the audit log (ids only)."""
    if not principal.is_staff:
        raise PermissionDenied("only staff may reveal recipients", field="reveal")
    if request_ids:
        await record_event(
            session,
            clock=clock,
            actor=principal,
            action="review_requests.reveal",
            target_type="review_request",
            target_id=",".join(str(i) for i in request_ids[:50]),
            business_id=None,
            details={"count": len(request_ids)},
        )


async def views(
    session: AsyncSession,
    requests: Sequence[ReviewRequest],
    *,
    secrets: SecretBox,
    reveal: bool,
    reach_of: Callable[[str], Reach] | None = None,
) -> list[RequestView]:
    """Render requests (business numbers and check-ins looked up once); the recipient is the
    contact of the request's channel (``reach_of``; default: the email address)."""
    business_ids = {r.business_id for r in requests}
    checkin_ids = [r.checkin_id for r in requests]
    numbers: dict[int, int] = {}
    sealed: dict[int, tuple[date, str | None]] = {}
    if requests:
        rows = await session.execute(
            select(Business.id, Business.number).where(Business.id.in_(business_ids))
        )
        numbers = {bid: number for bid, number in rows}
        found = await session.execute(
            select(CheckIn.id, CheckIn.appointment_day, CheckIn.patient_sealed).where(
                CheckIn.id.in_(checkin_ids)
            )
        )
        sealed = {cid: (day, blob) for cid, day, blob in found}
    shown = []
    for r in requests:
        day, blob = sealed.get(r.checkin_id, (None, None))
        recipient = _recipient(r.channel, blob, secrets, reveal, reach_of)
        shown.append(
            RequestView(
                id=r.id,
                checkin_id=r.checkin_id,
                business_number=numbers.get(r.business_id),
                appointment_id=r.appointment_id,
                appointment_day=day.isoformat() if day else None,
                channel=r.channel,
                state=r.state,
                attempts=r.attempts,
                next_attempt_at=r.next_attempt_at.isoformat(),
                claimed_at=r.claimed_at.isoformat() if r.claimed_at else None,
                sent_at=r.sent_at.isoformat() if r.sent_at else None,
                message_id=r.message_id,
                last_error_code=r.last_error_code,
                last_error=r.last_error,
                created_at=r.created_at.isoformat(),
                updated_at=r.updated_at.isoformat(),
                recipient=recipient,
                revealed=reveal,
            )
        )
    return shown


def _recipient(
    channel: str,
    blob: str | None,
    secrets: SecretBox,
    reveal: bool,
    reach_of: Callable[[str], Reach] | None,
) -> str | None:
    patient: dict[str, Any] = json.loads(secrets.decrypt(blob)) if blob else {}
    try:
        reach = reach_of(channel) if reach_of is not None else Reach.EMAIL
    except ConfigurationError:
        reach = Reach.EMAIL
    if reach is Reach.EMAIL:
        email = patient.get("email")
        return email if reveal else mask("email", email)
    contact = contact_of(reach, {**patient, "patient_id": patient.get("patient_id")}).address
    if reach is Reach.MOBILE:
        return contact if reveal else mask("phone", contact)
    return contact


async def captured_message(session: AsyncSession, request: ReviewRequest) -> dict[str, Any] | None:
    """The demo capture's copy of the request's message (found by ``Message-ID``)."""
    if not request.message_id:
        return None
    mail = await get_captured_by_message_id(session, message_id=request.message_id)
    if mail is None:
        return None
    parsed = parse_captured(mail)
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    return {
        "id": mail.id,
        "receivedAt": mail.received_at.isoformat(),
        "messageId": mail.message_id,
        "subject": mail.subject,
        "to": mail.rcpt_tos,
        "listUnsubscribe": parsed.get("List-Unsubscribe"),
        "text": text.get_content() if text is not None else None,
        "html": html.get_content() if html is not None else None,
    }
