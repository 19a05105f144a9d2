"""Per-business message templates: set, get, delete, and resolve the set a message uses."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.clock import Clock
from frontdesk.delivery.channel import TemplateSet
from frontdesk.delivery.choice import TemplateRule
from frontdesk.delivery.models import MessageTemplate
from frontdesk.delivery.templates import default_template_set, validate_template_set


async def get_business_templates(
    session: AsyncSession, *, business_id: int, channel: str
) -> MessageTemplate | None:
    """The business's own templates for ``channel``, if it has any."""
    query = select(MessageTemplate).where(
        MessageTemplate.business_id == business_id, MessageTemplate.channel == channel
    )
    return (await session.execute(query)).scalar_one_or_none()


async def set_business_templates(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    business: Business,
    channel: str,
    subject: str | None,
    text_body: str,
    html_body: str | None,
    rule: TemplateRule | None = None,
) -> MessageTemplate:
    """Validate (against the channel's ``rule``) and store (create or replace) the templates
    of ``business`` for the template kind ``channel``."""
    candidate = TemplateSet(subject=subject, text=text_body, html=html_body)
    validate_template_set(channel, candidate, rule)
    row = await get_business_templates(session, business_id=business.id, channel=channel)
    if row is None:
        row = MessageTemplate(business_id=business.id, channel=channel, text_body=text_body)
        session.add(row)
    row.subject, row.text_body, row.html_body = subject, text_body, html_body
    row.updated_at = clock.now()
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="message_templates.set",
        target_type="business",
        target_id=str(business.number),
        business_id=business.enterprise_id or business.id,
        details={"channel": channel, "chars": len(text_body) + len(html_body or "")},
    )
    return row


async def delete_business_templates(
    session: AsyncSession, *, principal: Principal, clock: Clock, business: Business, channel: str
) -> bool:
    """Go back to the inherited templates; False when there was nothing to delete."""
    row = await get_business_templates(session, business_id=business.id, channel=channel)
    if row is None:
        return False
    await session.delete(row)
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="message_templates.delete",
        target_type="business",
        target_id=str(business.number),
        business_id=business.enterprise_id or business.id,
        details={"channel": channel},
    )
    return True


async def resolve_template_set(
    session: AsyncSession, *, business_id: int, channel: str, kind: str | None = None
) -> TemplateSet:
    """The templates a message of this business uses: its own, its enterprise's (kept per
    channel name), else the shipped default of its kind (the channel's reach; default: the
    channel name)."""
    business = await session.get(Business, business_id)
    candidates = [business_id]
    if business is not None and business.enterprise_id is not None:
        candidates.append(business.enterprise_id)
    for candidate in candidates:
        row = await get_business_templates(session, business_id=candidate, channel=channel)
        if row is not None:
            return TemplateSet(
                subject=row.subject,
                text=row.text_body,
                html=row.html_body,
                origin=f"business:{candidate}",
            )
    return default_template_set(kind or channel)
