"""HTTP: ``/api/businesses/{number}/message-templates/{channel}`` — read, set, reset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.businesses.service import visible_business
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.delivery import template_service
from frontdesk.delivery.templates import (
    CHANNEL_PARTS,
    MAX_BODY_SOURCE,
    MAX_SUBJECT_SOURCE,
    VARIABLES,
)
from frontdesk.errors import NotFound
from frontdesk.server.dependencies import get_context

router = APIRouter(prefix="/api/businesses/{number}/message-templates", tags=["delivery"])
Context = Annotated[AppContext, Depends(get_context)]


class TemplatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=MAX_SUBJECT_SOURCE)
    textBody: str = Field(max_length=MAX_BODY_SOURCE)
    htmlBody: str | None = Field(default=None, max_length=MAX_BODY_SOURCE)


class TemplatesOut(BaseModel):
    channel: str
    origin: str = Field(description="`business`, `enterprise` or `default`")
    subject: str | None
    textBody: str
    htmlBody: str | None
    variables: list[str]
    updatedAt: datetime | None


def _channel(channel: str) -> str:
    if channel not in CHANNEL_PARTS:
        raise NotFound("that channel has no templates", field="channel")
    return channel


@router.get("/{channel}", response_model=TemplatesOut)
async def get_templates(
    number: DbId, channel: str, ctx: Context, principal: CurrentPrincipal
) -> TemplatesOut:
    """The templates messages of this business use now, and where they come from."""
    async with ctx.db.reader() as session:
        business = await visible_business(session, principal=principal, number=number)
        own = await template_service.get_business_templates(
            session, business_id=business.id, channel=_channel(channel)
        )
        effective = await template_service.resolve_template_set(
            session, business_id=business.id, channel=channel
        )
    origin = (
        "business"
        if own is not None
        else "default"
        if effective.origin == "default"
        else "enterprise"
    )
    return TemplatesOut(
        channel=channel,
        origin=origin,
        subject=effective.subject,
        textBody=effective.text,
        htmlBody=effective.html,
        variables=list(VARIABLES),
        updatedAt=own.updated_at if own else None,
    )


@router.put("/{channel}", response_model=TemplatesOut)
async def put_templates(
    number: DbId, channel: str, body: TemplatesIn, ctx: Context, principal: CurrentPrincipal
) -> TemplatesOut:
    """Set this business's own templates (validated: syntax, variables, required links)."""
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=number)
        row = await template_service.set_business_templates(
            session,
            principal=principal,
            clock=ctx.clock,
            business=business,
            channel=_channel(channel),
            subject=body.subject,
            text_body=body.textBody,
            html_body=body.htmlBody,
        )
        return TemplatesOut(
            channel=channel,
            origin="business",
            subject=row.subject,
            textBody=row.text_body,
            htmlBody=row.html_body,
            variables=list(VARIABLES),
            updatedAt=row.updated_at,
        )


@router.delete("/{channel}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_templates(
    number: DbId, channel: str, ctx: Context, principal: CurrentPrincipal
) -> Response:
    """Go back to the enterprise's or the default templates."""
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=number)
        deleted = await template_service.delete_business_templates(
            session,
            principal=principal,
            clock=ctx.clock,
            business=business,
            channel=_channel(channel),
        )
    if not deleted:
        raise NotFound(f"business {number} has no own {channel} templates", field="channel")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
