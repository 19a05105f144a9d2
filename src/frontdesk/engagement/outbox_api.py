"""HTTP: the outbox (``/api/outbox``): review requests with their state; operator requeue.

Recipients are masked unless ``reveal=true`` by a staff key (then audited). Another tenant's
request answers 404. In the demo, one request shows the captured message.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.delivery.channel import DeferredDelivery
from frontdesk.delivery.sms.consent import statuses_of
from frontdesk.delivery.tracking.links import clicks_of
from frontdesk.engagement import outbox
from frontdesk.engagement.funnel import review_funnel
from frontdesk.engagement.ledger_models import PENDING
from frontdesk.engagement.sending import ReviewSender
from frontdesk.errors import InvalidInput
from frontdesk.server.dependencies import PluginsDep, get_context, get_sender
from frontdesk.server.paging import BeforeIdParam, CursorParam, LimitParam, PageOut, first_cursor

router = APIRouter(prefix="/api/outbox", tags=["outbox"])
Context = Annotated[AppContext, Depends(get_context)]
MAX_FUNNEL_DAYS = 366


class RequestOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

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
    delivery_status: str | None = None
    """The provider's latest status (SMS: queued, sent, delivered, undelivered, failed)."""
    clicks: int = 0
    """Clicks on the message's tracked link (``/r/{token}``)."""


class RequestDetailOut(RequestOut):
    captured: dict[str, Any] | None = None


def delivery_status(view: outbox.RequestView, statuses: dict[str, str]) -> str | None:
    """The provider's status; ``scheduled`` for a request waiting for its sending window."""
    if view.state == PENDING and view.last_error_code == DeferredDelivery.code:
        return "scheduled"
    return statuses.get(view.message_id or "")


@router.get("", response_model=PageOut[RequestOut], response_model_by_alias=True)
async def outbox_list(
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
    businessNumber: DbId | None = None,
    state: str | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    limit: LimitParam = 100,
    cursor: CursorParam = None,
    before_id: BeforeIdParam = None,
    reveal: bool = False,
) -> PageOut[RequestOut]:
    """Review requests, newest first, one page (``nextCursor``) at a time; ``from``/``to``:
    days created."""
    filters = outbox.OutboxFilters(
        business_number=businessNumber, state=state, first=from_, last=to
    )
    async with ctx.db.transaction() if reveal else ctx.db.reader() as session:
        found = await outbox.search(
            session,
            principal=principal,
            filters=filters,
            limit=limit,
            cursor=first_cursor(cursor, before_id),
        )
        if reveal:
            await outbox.audit_reveal(
                session,
                principal=principal,
                clock=ctx.clock,
                request_ids=[r.id for r in found.items],
            )
        shown = await outbox.views(
            session,
            found.items,
            secrets=ctx.secrets,
            reveal=reveal,
            reach_of=plugins.channels.reach,
        )
        statuses = await statuses_of(
            session, message_ids=[v.message_id for v in shown if v.message_id]
        )
        keys = [r.ledger_key for r in found.items]
        clicks = await clicks_of(session, ledger_keys=keys)
    return PageOut[RequestOut](
        items=[
            RequestOut(
                **v.as_dict(),
                delivery_status=delivery_status(v, statuses),
                clicks=clicks.get(key, 0),
            )
            for v, key in zip(shown, keys, strict=True)
        ],
        nextCursor=found.next_cursor,
    )


@router.get("/funnel")
async def outbox_funnel(
    ctx: Context,
    principal: CurrentPrincipal,
    businessNumber: DbId | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> dict[str, Any]:
    """Sent → delivered → clicked of the requests sent in ``from``..``to`` (UTC days;
    default: the last 30 days), for a practice, a location, or everything visible."""
    last = to or ctx.clock.now().date()
    first = from_ or last - timedelta(days=29)
    if first > last or (last - first).days > MAX_FUNNEL_DAYS:
        raise InvalidInput(f"from..to must span 1 to {MAX_FUNNEL_DAYS} days", field="from")
    async with ctx.db.reader() as session:
        where = await outbox.visibility(
            session, principal=principal, business_number=businessNumber
        )
        found = await review_funnel(session, first=first, last=last, where=where)
    return found.as_dict()


@router.get("/{requestId}", response_model=RequestDetailOut, response_model_by_alias=True)
async def outbox_get(
    requestId: DbId,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
    reveal: bool = False,
) -> RequestDetailOut:
    """One request; in the demo, with the captured message."""
    async with ctx.db.transaction() if reveal else ctx.db.reader() as session:
        found = await outbox.get_request(session, principal=principal, request_id=requestId)
        if reveal:
            await outbox.audit_reveal(
                session, principal=principal, clock=ctx.clock, request_ids=[found.id]
            )
        (view,) = await outbox.views(
            session, [found], secrets=ctx.secrets, reveal=reveal, reach_of=plugins.channels.reach
        )
        captured = await outbox.captured_message(session, found)
        statuses = await statuses_of(session, message_ids=[found.message_id or ""])
    return RequestDetailOut(
        **view.as_dict(), captured=captured, delivery_status=delivery_status(view, statuses)
    )


@router.post("/{requestId}/requeue", response_model=RequestOut, response_model_by_alias=True)
async def outbox_requeue(
    requestId: DbId,
    ctx: Context,
    principal: CurrentPrincipal,
    sender: Annotated[ReviewSender, Depends(get_sender)],
    plugins: PluginsDep,
) -> RequestOut:
    """Operator: put a failed or parked request back to pending (audited); 409 otherwise."""
    found = await outbox.requeue_now(ctx, sender, principal=principal, request_id=requestId)
    async with ctx.db.reader() as session:
        (view,) = await outbox.views(
            session, [found], secrets=ctx.secrets, reveal=False, reach_of=plugins.channels.reach
        )
    return RequestOut(**view.as_dict())
