"""Removing an integration group while keeping its history.

Deleting the row would cascade to the group's check-ins (the decision log), their review
requests (the ledger that keeps a patient from being asked twice) and its sync runs. So
removal marks the group (``removed_at``), makes it and every mapping inactive (the
dispatcher never runs it again) and hides it from every lookup made for a principal (404, as
for another tenant's group); check-ins, review requests, runs, the mappings with the settings
each run froze, and the audit trail stay. A business whose group was removed cannot get a new
group for that source through the API (one group per business and source: the conflict names
the removed one); ``config apply`` of a file that lists it again restores it
(:func:`restore_group`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.integrations.groups import get_group
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping

REMOVED_REASON = "removed"


async def remove_group(
    session: AsyncSession, *, principal: Principal, clock: Clock, group_id: int
) -> IntegrationGroup:
    """Remove a group visible to ``principal`` (404 otherwise, or when already removed)."""
    group = await get_group(session, group_id=group_id, principal=principal)
    now = clock.now()
    mappings = (
        (
            await session.execute(
                select(IntegrationMapping)
                .where(IntegrationMapping.group_id == group.id)
                .order_by(IntegrationMapping.id)
            )
        )
        .scalars()
        .all()
    )
    for mapping in mappings:
        mapping.active = False
        mapping.updated_at = now
    before = group.status
    group.status = "inactive"
    group.status_reason = REMOVED_REASON
    group.removed_at = now
    group.updated_at = now
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="integration_group.remove",
        target_type="integration_group",
        target_id=str(group.id),
        business_id=group.business.id,
        details={
            "businessNumber": group.business.number,
            "sourceId": group.source_id,
            "statusBefore": before,
            "mappingIds": [m.id for m in mappings],
        },
    )
    return group


async def restore_group(
    session: AsyncSession, *, principal: Principal, clock: Clock, group: IntegrationGroup
) -> IntegrationGroup:
    """Bring a removed group back (``config apply`` of a file that lists it again): active,
    visible, its history continued; the caller then sets its mappings as the file says."""
    if group.removed_at is None:
        return group
    now = clock.now()
    group.removed_at = None
    group.status = "active"
    group.status_reason = None
    group.updated_at = now
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="integration_group.restore",
        target_type="integration_group",
        target_id=str(group.id),
        business_id=group.business.id,
        details={"businessNumber": group.business.number, "sourceId": group.source_id},
    )
    return group
