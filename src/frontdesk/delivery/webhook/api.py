"""HTTP: a business's webhook endpoint (``/api/webhooks/{businessNumber}``).

``PUT`` sets the URL (a new endpoint's signing secret is in the answer, once); ``POST
…/rotate`` makes a new secret (in the answer, once); ``GET`` shows the URL, never the secret.
Another tenant's business answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.businesses.service import visible_business
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.delivery.webhook.endpoints import rotate_secret, set_endpoint
from frontdesk.delivery.webhook.models import WebhookEndpoint
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.security.outbound import DestinationRefused, OutboundPolicy
from frontdesk.server.dependencies import get_context, get_outbound

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
