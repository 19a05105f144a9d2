"""Recording and querying audit events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.models import AuditEvent
from frontdesk.clock import Clock
from frontdesk.db import paging
from frontdesk.security.redaction import redact

if TYPE_CHECKING:
    from frontdesk.access.principal import Principal


async def record_event(
    session: AsyncSession,
    *,
    clock: Clock,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: str,
    business_id: int | None,
    details: Mapping[str, Any],
) -> AuditEvent:
    """Append one event in the caller's transaction; ``details`` pass the redaction step.

    Callers must still leave secret values out: redaction is a safety net, not a licence.
    """
    event = AuditEvent(
        at=clock.now(),
        actor=actor.label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        business_id=business_id,
        details=redact(dict(details)),
    )
    session.add(event)
    await session.flush()
    return event


def matching_events(
    *,
    principal: Principal,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    business_id: int | None = None,
) -> Select[AuditEvent]:
    """The query of events ``principal`` may see (a business principal: only its own tenant's);
    page it with ``frontdesk.db.paging`` on ``AuditEvent.id``, newest first.

    ``actor`` matches part of the actor's label (``user:alice``), case-insensitively;
    ``business_id`` keeps the events of that business and of its locations.
    """
    from frontdesk.businesses.models import Business

    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor.icontains(actor, autoescape=True))
    if business_id is not None:
        locations = select(Business.id).where(Business.enterprise_id == business_id)
        query = query.where(
            or_(AuditEvent.business_id == business_id, AuditEvent.business_id.in_(locations))
        )
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    if not principal.is_staff:
        children = select(Business.id).where(Business.enterprise_id == principal.business_scope)
        query = query.where(
            or_(
                AuditEvent.business_id == principal.business_scope,
                AuditEvent.business_id.in_(children),
            )
        )
    return query


async def list_events(
    session: AsyncSession,
    *,
    principal: Principal,
    limit: int = 100,
    cursor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    business_id: int | None = None,
) -> paging.Page[AuditEvent]:
    """One page of events, newest first, and the cursor of the next."""
    query = matching_events(
        principal=principal,
        action=action,
        target_type=target_type,
        target_id=target_id,
        actor=actor,
        business_id=business_id,
    )
    below = paging.decode_cursor(cursor)
    return await paging.page(session, query, AuditEvent.id, limit=limit, below=below)


async def visible_actions(session: AsyncSession, *, principal: Principal) -> list[str]:
    """The distinct actions among the events ``principal`` may see (the page's filter)."""
    query = matching_events(principal=principal).with_only_columns(AuditEvent.action).distinct()
    return sorted((await session.execute(query.order_by(None))).scalars())
