"""HTTP: ``GET /api/businesses/{number}/message-templates/{channel}/preview`` — the message a
patient of this business would get on ``channel``, rendered with sample values.

``channel`` is a registered channel (``email``, ``sms``, ``webhook``) or a kind of message
(``email``, ``mobile``, ``webhook``). For texts the answer carries the segment count:
``encoding`` (GSM-7 or UCS-2), ``characters`` and ``segments`` (160/153 GSM-7, 70/67 UCS-2
characters per segment), measured with a tracked link of the real length in place of the
review link, since that is what a text carries. Emails carry a tracked link too: their
preview shows a sample one (the webhook event hands the business the review link itself).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.businesses.service import visible_business
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.delivery import template_service
from frontdesk.delivery.phone import segments
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.templates import CHANNEL_PARTS, render_template_set
from frontdesk.delivery.tracking.links import link_url
from frontdesk.errors import ConfigurationError, NotFound
from frontdesk.server.dependencies import PluginsDep, get_context

router = APIRouter(prefix="/api/businesses/{number}/message-templates", tags=["delivery"])
Context = Annotated[AppContext, Depends(get_context)]
SAMPLE_LINK_ID = "Xy3kQ9aZ0bC"  # as long as a real link token (11 characters)
TRACKED_KINDS = (Reach.EMAIL.value, Reach.MOBILE.value)
"""Kinds of message that carry a tracked link (``/r/{token}``) as their review link."""


class SegmentsOut(BaseModel):
    encoding: str
    characters: int
    segments: int


class PreviewOut(BaseModel):
    channel: str
    kind: str
    origin: str
    subject: str | None
    textBody: str
    htmlBody: str | None
    segments: SegmentsOut | None = None


@router.get("/{channel}/preview", response_model=PreviewOut)
async def preview_templates(
    number: DbId, channel: str, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> PreviewOut:
    """The effective templates of ``channel`` rendered with sample values."""
    try:
        kind = plugins.channels.template_rule(channel).kind
    except ConfigurationError:
        if channel not in CHANNEL_PARTS:
            raise NotFound(f"channel {channel!r} has no templates", field="channel") from None
        kind = channel
    async with ctx.db.reader() as session:
        business = await visible_business(session, principal=principal, number=number)
        templates = await template_service.resolve_template_set(
            session, business_id=business.id, channel=kind
        )
        name = business.name
    texting = kind == Reach.MOBILE.value
    review_url = (
        link_url(ctx.settings.public_url, SAMPLE_LINK_ID)
        if kind in TRACKED_KINDS
        else "https://reviews.example/your-practice"
    )
    rendered = render_template_set(
        templates,
        {
            "first_name": "Alexandra",
            "location_name": name,
            "review_url": review_url,
            "unsubscribe_url": f"{ctx.settings.public_url.rstrip('/')}/unsubscribe/sample",
            "sender_name": name,
        },
    )
    text = " ".join(rendered.text.split()) if texting else rendered.text
    measured = segments(text) if texting else None
    return PreviewOut(
        channel=channel,
        kind=kind,
        origin=templates.origin,
        subject=rendered.subject or None,
        textBody=text,
        htmlBody=rendered.html,
        segments=SegmentsOut(
            encoding=measured.encoding,
            characters=measured.characters,
            segments=measured.segments,
        )
        if measured
        else None,
    )
