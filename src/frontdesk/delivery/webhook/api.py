"""HTTP: a business's webhook endpoint (``/api/webhooks/{businessNumber}``) and its events.

``PUT`` sets the URL (a new endpoint's signing secret is in the answer, once); ``POST
…/rotate`` makes a new secret (in the answer, once); ``GET`` shows the URL, never the secret.
``GET …/events`` lists the review-request events (``?state=parked``), ``POST
…/events/{eventId}/replay`` queues a parked one again with the same ``webhook-id``.
Another tenant's business answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.businesses.service import visible_business
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.delivery.webhook.endpoints import rotate_secret, set_endpoint
from frontdesk.delivery.webhook.events import business_events, replay_business_event
from frontdesk.delivery.webhook.models import WebhookEndpoint
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.security.outbound import DestinationRefused, OutboundPolicy
from frontdesk.server.dependencies import AnsweringDep, get_context, get_outbound
from frontdesk.webhooks.models import STATES, WebhookEvent

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
Context = Annotated[AppContext, Depends(get_context)]


class EndpointIn(BaseModel):
    url: str


class EndpointOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    business_number: int
    url: str | None = None
    secret: str | None = None
    """Only when it was just made (shown once)."""


@router.get("/{businessNumber}", response_model=EndpointOut, response_model_by_alias=True)
async def get_endpoint(
    businessNumber: DbId, ctx: Context, principal: CurrentPrincipal
) -> EndpointOut:
    async with ctx.db.reader() as session:
        business = await visible_business(session, principal=principal, number=businessNumber)
        row = await session.get(WebhookEndpoint, business.id)
        if row is None:
            raise NotFound("this business has no webhook endpoint", field="businessNumber")
        return EndpointOut(business_number=businessNumber, url=row.url)


@router.put("/{businessNumber}", response_model=EndpointOut, response_model_by_alias=True)
async def put_endpoint(
    businessNumber: DbId,
    body: EndpointIn,
    ctx: Context,
    principal: CurrentPrincipal,
    outbound: Annotated[OutboundPolicy, Depends(get_outbound)],
) -> EndpointOut:
    try:  # the outbound rule: a public address, or a host the operator listed
        await outbound.check_configured(body.url.strip())
    except DestinationRefused as error:
        raise InvalidInput(f"url: {error.message}", field="url", code=error.code) from None
    except (OSError, TimeoutError, ValueError):
        raise InvalidInput("url: the URL's host does not resolve", field="url") from None
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=businessNumber)
        secret = await set_endpoint(
            session, secrets=ctx.secrets, clock=ctx.clock, business_id=business.id, url=body.url
        )
    return EndpointOut(business_number=businessNumber, url=body.url.strip(), secret=secret)


@router.post("/{businessNumber}/rotate", response_model=EndpointOut, response_model_by_alias=True)
async def rotate_endpoint_secret(
    businessNumber: DbId, ctx: Context, principal: CurrentPrincipal
) -> EndpointOut:
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=businessNumber)
        secret = await rotate_secret(
            session, secrets=ctx.secrets, clock=ctx.clock, business_id=business.id
        )
    return EndpointOut(business_number=businessNumber, secret=secret)


class EventOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: int
    event_id: str
    """The ``webhook-id`` (the outbox's ``messageId`` of the request)."""
    event: str
    state: str
    attempts: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None


class EventPageOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    items: list[EventOut]
    next_cursor: int | None = None


def _event_out(row: WebhookEvent) -> EventOut:
    return EventOut(
        id=row.id,
        event_id=row.event_id,
        event=row.event,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


@router.get("/{businessNumber}/events", response_model=EventPageOut, response_model_by_alias=True)
async def list_events(
    businessNumber: DbId,
    ctx: Context,
    principal: CurrentPrincipal,
    state: Annotated[str | None, Query(description=" | ".join(STATES))] = None,
    cursor: DbId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EventPageOut:
    """The business's (and its locations') review-request events, newest first."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}", field="state")
    async with ctx.db.reader() as session:
        business = await visible_business(session, principal=principal, number=businessNumber)
        rows = await business_events(
            session, business=business, state=state, before_id=cursor, limit=limit + 1
        )
        items = [_event_out(r) for r in rows[:limit]]
    return EventPageOut(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


@router.post(
    "/{businessNumber}/events/{eventId}/replay",
    response_model=EventOut,
    response_model_by_alias=True,
)
async def replay_event(
    businessNumber: DbId,
    eventId: str,
    ctx: Context,
    principal: CurrentPrincipal,
    answering: AnsweringDep,
) -> EventOut:
    """Queue a parked (or delivered) event again: the same ``webhook-id``, fresh attempts."""
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=businessNumber)
        row = await replay_business_event(
            session, business=business, event_id=eventId, clock=ctx.clock, actor=principal
        )
        out = _event_out(row)
    answering.webhooks_queued()  # the one pump's kick
    return out
