"""Recording and querying audit events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.models import AuditEvent
from frontdesk.clock import Clock
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


async def list_events(
    session: AsyncSession,
    *,
    principal: Principal,
    limit: int = 100,
    before_id: int | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
) -> Sequence[AuditEvent]:
    """Newest first; a business principal sees only events of its own tenant."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 1000)))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    if not principal.is_staff:
        from frontdesk.businesses.models import Business

        children = select(Business.id).where(Business.enterprise_id == principal.business_scope)
        query = query.where(
            or_(
                AuditEvent.business_id == principal.business_scope,
                AuditEvent.business_id.in_(children),
            )
        )
    return (await session.execute(query)).scalars().all()
