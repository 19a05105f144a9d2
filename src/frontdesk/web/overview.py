"""What the Integrations pages show about a group: display status, next run, last run.

Reads only; tenant visibility comes from the principal (a scoped user sees its tenant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import LOCATION, list_businesses
from frontdesk.credentials.expiry import password_row
from frontdesk.integrations.groups import can_see_group
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.settings import CredentialSettings
from frontdesk.web.runs import RunSummary, last_run_summary

STATUS_LABELS = {
    "active": "Active",
    "inactive": "Inactive",
    "unauthorized": "Unauthorized",
    "expiring": "Password expiring",
}


@dataclass(frozen=True)
class DisplayStatus:
    key: str  # active, inactive, unauthorized, expiring
    label: str
    detail: str = ""


@dataclass(frozen=True)
class GroupRow:
    group: IntegrationGroup
    status: DisplayStatus
    locations: int
    active_locations: int
    next_run: IntegrationMapping | None  # the active mapping that runs next
    last_run: RunSummary | None


@dataclass(frozen=True)
class BusinessRow:
    business: Business
    location_count: int
    groups: list[GroupRow]


def display_status(
    group: IntegrationGroup, *, now: datetime, limits: CredentialSettings
) -> DisplayStatus:
    """The group's status, with "password expiring" once its source's ageing password
    (``PM_Password`` for Allscripts) is
    ``limits.pm_password_warn_from_day`` days old (of ``pm_password_max_age_days``)."""
    if group.status != "active":
        return DisplayStatus(group.status, STATUS_LABELS.get(group.status, group.status))
    password = password_row(group)
    warn_after = timedelta(days=limits.pm_password_warn_from_day)
    if password is not None and now - password.updated_at >= warn_after:
        lifetime = timedelta(days=limits.pm_password_max_age_days)
        left = (password.updated_at + lifetime - now).days
        detail = (
            f"{password.key} expires in {left} days"
            if left >= 0
            else f"{password.key} is over {limits.pm_password_max_age_days} days old"
        )
        return DisplayStatus("expiring", STATUS_LABELS["expiring"], detail)
    return DisplayStatus("active", STATUS_LABELS["active"])


async def group_rows(
    session: AsyncSession,
    *,
    groups: Sequence[IntegrationGroup],
    now: datetime,
    limits: CredentialSettings,
) -> list[GroupRow]:
    if not groups:
        return []
    ids = [g.id for g in groups]
    mappings = (
        (
            await session.execute(
                select(IntegrationMapping).where(IntegrationMapping.group_id.in_(ids))
            )
        )
        .scalars()
        .all()
    )
    rows = []
    for group in groups:
        own = [m for m in mappings if m.group_id == group.id]
        active = [m for m in own if m.active]
        rows.append(
            GroupRow(
                group=group,
                status=display_status(group, now=now, limits=limits),
                locations=len(own),
                active_locations=len(active),
                next_run=min(active, key=lambda m: m.next_run_at, default=None),
                last_run=await last_run_summary(session, group.id),
            )
        )
    return rows


async def overview(
    session: AsyncSession, *, principal: Principal, now: datetime, limits: CredentialSettings
) -> list[BusinessRow]:
    """Visible SMBs and enterprises with their groups (a location user: its groups' owners)."""
    visible = await list_businesses(session, principal=principal)
    all_groups = (
        (
            await session.execute(
                select(IntegrationGroup)
                .where(IntegrationGroup.removed_at.is_(None))
                .order_by(IntegrationGroup.id)
            )
        )
        .scalars()
        .all()
    )
    groups = [g for g in all_groups if can_see_group(principal, g)]
    owners: dict[int, Business] = {b.id: b for b in visible if b.kind != LOCATION}
    for group in groups:
        owners.setdefault(group.business.id, group.business)
    locations: dict[int, int] = {}
    for business in visible:
        if business.enterprise_id is not None:
            locations[business.enterprise_id] = locations.get(business.enterprise_id, 0) + 1
    rows = await group_rows(session, groups=groups, now=now, limits=limits)
    result = []
    for business in sorted(owners.values(), key=lambda b: (b.name.lower(), b.number)):
        result.append(
            BusinessRow(
                business=business,
                location_count=locations.get(business.id, 0),
                groups=[r for r in rows if r.group.business.id == business.id],
            )
        )
    return result
