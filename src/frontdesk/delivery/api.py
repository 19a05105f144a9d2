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
from frontdesk.delivery.choice import TemplateRule
from frontdesk.delivery.templates import (
    CHANNEL_PARTS,
    MAX_BODY_SOURCE,
    MAX_SUBJECT_SOURCE,
    VARIABLES,
)
from frontdesk.errors import NotFound
from frontdesk.plugins import Plugins
from frontdesk.server.dependencies import PluginsDep, get_context

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


def _kind(channel: str, plugins: Plugins) -> tuple[str, TemplateRule]:
    """The template kind named by the path (a kind, or a channel: ``sms`` → ``mobile``) and
    the rule its templates are checked by (the channel's own, through the contract)."""
    registry = plugins.channels
    if channel in registry.channel_names():
        rule = registry.template_rule(channel)
    elif channel in CHANNEL_PARTS:
        rule = registry.template_rule_of_kind(channel) or TemplateRule(kind=channel)
    else:
        raise NotFound("that channel has no templates", field="channel")
    if rule.kind not in CHANNEL_PARTS:
        raise NotFound("that channel has no templates", field="channel")
    return rule.kind, rule


@router.get("/{channel}", response_model=TemplatesOut)
async def get_templates(
    number: DbId, channel: str, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> TemplatesOut:
    """The templates messages of this business use now, and where they come from."""
    kind, _ = _kind(channel, plugins)
    async with ctx.db.reader() as session:
        business = await visible_business(session, principal=principal, number=number)
        own = await template_service.get_business_templates(
            session, business_id=business.id, channel=kind
        )
        effective = await template_service.resolve_template_set(
            session, business_id=business.id, channel=kind
        )
        updated_at = own.updated_at if own else None  # read while the session is open
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
        updatedAt=updated_at,
    )


@router.put("/{channel}", response_model=TemplatesOut)
async def put_templates(
    number: DbId,
    channel: str,
    body: TemplatesIn,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
) -> TemplatesOut:
    """Set this business's own templates (validated: syntax, variables, what the channel
    requires: links, wording)."""
    kind, rule = _kind(channel, plugins)
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=number)
        row = await template_service.set_business_templates(
            session,
            principal=principal,
            clock=ctx.clock,
            business=business,
            channel=kind,
            subject=body.subject,
            text_body=body.textBody,
            html_body=body.htmlBody,
            rule=rule,
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
    number: DbId, channel: str, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> Response:
    """Go back to the enterprise's or the default templates."""
    kind, _ = _kind(channel, plugins)
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=number)
        deleted = await template_service.delete_business_templates(
            session,
            principal=principal,
            clock=ctx.clock,
            business=business,
            channel=kind,
        )
    if not deleted:
        raise NotFound(f"business {number} has no own {channel} templates", field="channel")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
