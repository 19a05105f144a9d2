"""Integration groups: one per business and source, with triggers and group properties.

Service functions take the session and keyword-only arguments and never commit. Functions
that take a ``principal`` enforce tenant visibility (404 for another tenant's group);
``get_group(..., principal=None)`` is for internal callers (connectors, the sync engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import ENTERPRISE, LOCATION, visible_business
from frontdesk.clock import Clock
from frontdesk.configuration.versions import record_version
from frontdesk.connectors.spec import SourceSpec
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.integrations import properties as props
from frontdesk.integrations.catalog import TriggerRef, get_source, resolve_triggers
from frontdesk.integrations.models import (
    GroupProperty,
    GroupTrigger,
    IntegrationGroup,
    IntegrationMapping,
    MappingProperty,
)
from frontdesk.integrations.outbound_properties import check_outbound_properties
from frontdesk.plugins import Plugins
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.security.secrets import SecretBox


@dataclass(frozen=True)
class PropertyInput:
    """A property as a request sends it."""

    key: str
    value: str
    is_secure: bool = False


async def get_group(
    session: AsyncSession,
    *,
    group_id: int,
    principal: Principal | None = None,
    field: str = "groupId",
) -> IntegrationGroup:
    """The group, or 404 naming ``field`` (also when ``principal`` may not see it, or it was
    removed: a removed group is kept for its history, internal callers still find it)."""
    group = await session.get(IntegrationGroup, group_id)
    hidden = principal is not None and group is not None and group.removed_at is not None
    if group is None or hidden or (principal is not None and not can_see_group(principal, group)):
        raise NotFound(f"integration group {group_id} not found", field=field)
    return group


def can_see_group(principal: Principal, group: IntegrationGroup) -> bool:
    return principal.can_see(group.business.id, group.business.enterprise_id)


async def groups_of_business(
    session: AsyncSession, *, principal: Principal, business_number: int
) -> list[IntegrationGroup]:
    """The groups a business owns; for a location, the groups it is mapped into."""
    business = await visible_business(session, principal=principal, number=business_number)
    query = select(IntegrationGroup).where(IntegrationGroup.business_id == business.id)
    if business.kind == LOCATION:
        mapped = select(IntegrationMapping.group_id).where(
            IntegrationMapping.business_id == business.id
        )
        query = select(IntegrationGroup).where(IntegrationGroup.id.in_(mapped))
    query = query.where(IntegrationGroup.removed_at.is_(None))
    groups = (await session.execute(query.order_by(IntegrationGroup.id))).scalars().all()
    return [g for g in groups if can_see_group(principal, g)]


async def create_group(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    plugins: Plugins,
    parent_business_number: int,
    source_id: int,
    triggers: Sequence[TriggerRef],
    properties: Sequence[PropertyInput],
    outbound: OutboundPolicy | None = None,
) -> IntegrationGroup:
    """Create the group of an SMB or an enterprise for a source (409 if it already has one).

    URL properties the server connects to need staff and ``outbound`` (see
    :mod:`frontdesk.integrations.outbound_properties`); so for every function here.
    """
    business = await visible_business(
        session, principal=principal, number=parent_business_number, field="parentBusinessNumber"
    )
    if business.kind == LOCATION:
        raise InvalidInput(
            f"business {business.number} is a location: map it to its enterprise's group",
            field="parentBusinessNumber",
        )
    source = await get_source(session, source_id=source_id)
    existing = (
        await session.execute(
            select(IntegrationGroup.id).where(
                IntegrationGroup.business_id == business.id,
                IntegrationGroup.source_id == source.id,
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            f"business {business.number} already has group {existing} for source {source.id}",
            field="parentBusinessNumber",
        )
    resolved = await resolve_triggers(session, source=source, refs=triggers)
    spec = plugins.spec(source.name)
    checked = _check(properties, source=spec, plugins=plugins)
    await check_outbound_properties(
        checked, principal=principal, outbound=outbound, field="integrationGroupProperties"
    )
    missing = [k for k in props.required_group_keys(spec) if k not in {c.key for c in checked}]
    if missing:
        raise InvalidInput(
            f"missing required group properties: {', '.join(missing)}",
            field="integrationGroupProperties",
        )
    now = clock.now()
    group = IntegrationGroup(
        business=business,
        source=source,
        status="active",
        status_reason=None,
        created_at=now,
        updated_at=now,
        triggers=[
            GroupTrigger(trigger=t, trigger_type_id=type_id, created_at=now)
            for t, type_id in resolved
        ],
        properties=[],
    )
    for item in checked:
        row = GroupProperty()
        props.write_value(row, item, secrets=secrets, now=now)
        group.properties.append(row)
    session.add(group)
    await session.flush()
    await _audit(
        session,
        clock=clock,
        principal=principal,
        group=group,
        action="integration_group.create",
        details={
            "businessNumber": business.number,
            "sourceId": source.id,
            "triggerIds": [t.id for t, _ in resolved],
            "propertyKeys": [c.key for c in checked],
        },
    )
    await record_version(session, group=group, actor=principal, clock=clock)
    return group


async def update_triggers(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    plugins: Plugins,
    group_id: int,
    triggers: Sequence[TriggerRef],
    replace: bool,
    properties: Sequence[PropertyInput] = (),
    outbound: OutboundPolicy | None = None,
) -> IntegrationGroup:
    """Replace the group's triggers (``replace``) or add to them; optionally set properties."""
    group = await get_group(session, group_id=group_id, principal=principal)
    resolved = await resolve_triggers(session, source=group.source, refs=triggers)
    before = [t.trigger_id for t in group.triggers]
    wanted = {t.id: type_id for t, type_id in resolved}
    now = clock.now()
    for row in list(group.triggers):
        if row.trigger_id in wanted:
            row.trigger_type_id = wanted.pop(row.trigger_id)
        elif replace:
            group.triggers.remove(row)
    for trigger, type_id in resolved:
        if trigger.id in wanted:
            group.triggers.append(
                GroupTrigger(trigger=trigger, trigger_type_id=type_id, created_at=now)
            )
    group.updated_at = now
    await session.flush()
    await _audit(
        session,
        clock=clock,
        principal=principal,
        group=group,
        action="integration_group.triggers",
        details={
            "replaceTriggers": replace,
            "before": before,
            "after": sorted(t.trigger_id for t in group.triggers),
        },
    )
    if properties:
        await set_group_properties(
            session,
            principal=principal,
            clock=clock,
            secrets=secrets,
            plugins=plugins,
            group_id=group.id,
            properties=properties,
            outbound=outbound,
        )
    await record_version(session, group=group, actor=principal, clock=clock)
    return group


async def set_group_status(
    session: AsyncSession,
    *,
    actor: Principal,
    clock: Clock,
    group_id: int,
    status: str,
    reason: str | None = None,
) -> IntegrationGroup:
    """Set ``active``/``inactive``/``unauthorized`` (the connector marks rejected credentials)."""
    group = await get_group(session, group_id=group_id, principal=actor)
    if status not in ("active", "inactive", "unauthorized"):
        raise InvalidInput("status is active, inactive or unauthorized", field="status")
    before = group.status
    group.status = status
    group.status_reason = reason
    group.updated_at = clock.now()
    await _audit(
        session,
        clock=clock,
        principal=actor,
        group=group,
        action="integration_group.status",
        details={"before": before, "after": status},
    )
    return group


async def delete_group(
    session: AsyncSession, *, principal: Principal, clock: Clock, group_id: int
) -> None:
    """Delete a group with its triggers, properties and mappings."""
    group = await get_group(session, group_id=group_id, principal=principal)
    mapping_ids = (
        (
            await session.execute(
                select(IntegrationMapping.id).where(IntegrationMapping.group_id == group.id)
            )
        )
        .scalars()
        .all()
    )
    await _audit(
        session,
        clock=clock,
        principal=principal,
        group=group,
        action="integration_group.delete",
        details={"sourceId": group.source_id, "mappingIds": list(mapping_ids)},
    )
    await record_version(session, group=group, actor=principal, clock=clock, removed=True)
    await session.delete(group)
    await session.flush()


async def set_group_properties(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    plugins: Plugins,
    group_id: int,
    properties: Sequence[PropertyInput],
    field: str = "integrationGroupProperties",
    outbound: OutboundPolicy | None = None,
) -> IntegrationGroup:
    """Add or replace group properties by key (other keys are left as they are)."""
    group = await get_group(session, group_id=group_id, principal=principal)
    spec = plugins.spec(group.source.name)
    checked = _check(properties, source=spec, plugins=plugins, field=field)
    await check_outbound_properties(checked, principal=principal, outbound=outbound, field=field)
    rows = {p.key: p for p in group.properties}
    now = clock.now()
    for item in checked:
        row = rows.get(item.key)
        if row is None:
            row = GroupProperty()
            group.properties.append(row)
        props.write_value(row, item, secrets=secrets, now=now)
    group.updated_at = now
    await session.flush()
    if any(c.key == props.DATA_FETCH_LOGIC for c in checked):
        await check_match_keys(session, group=group, field=field or "propertyValue")
    await _audit(
        session,
        clock=clock,
        principal=principal,
        group=group,
        action="integration_group.properties.set",
        details={"propertyKeys": [c.key for c in checked]},
    )
    await record_version(session, group=group, actor=principal, clock=clock)
    return group


async def delete_group_property(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    plugins: Plugins,
    group_id: int,
    key: str,
) -> IntegrationGroup:
    """Remove one group property (404 if absent; 422 for a required key)."""
    group = await get_group(session, group_id=group_id, principal=principal)
    row = next((p for p in group.properties if p.key == key), None)
    if row is None:
        raise NotFound(f"group {group_id} has no property {key}", field="propertyKey")
    spec = plugins.spec(group.source.name)
    if key in props.required_group_keys(spec):
        raise InvalidInput(f"{key} is required on every group", field="propertyKey")
    group.properties.remove(row)
    group.updated_at = clock.now()
    await session.flush()
    if key == props.DATA_FETCH_LOGIC:
        await check_match_keys(session, group=group, field="propertyKey")
    await _audit(
        session,
        clock=clock,
        principal=principal,
        group=group,
        action="integration_group.properties.delete",
        details={"propertyKeys": [key]},
    )
    await record_version(session, group=group, actor=principal, clock=clock)
    return group


async def group_properties(
    session: AsyncSession, *, group_id: int, secrets: SecretBox
) -> dict[str, str]:
    """Every group property, secure ones decrypted: for internal use, never for output."""
    group = await get_group(session, group_id=group_id)
    return {p.key: props.read_value(p, secrets) for p in group.properties}


def match_key(group: IntegrationGroup) -> str:
    """The location property that is the primary match key: ``data.fetch.logic``, else the
    source's own (its spec's, recorded in the catalog)."""
    row = next((p for p in group.properties if p.key == props.DATA_FETCH_LOGIC), None)
    return row.value if row is not None and row.value else (group.source.match_key or "")


def requires_match_key(group: IntegrationGroup) -> bool:
    """Multi-location groups always route by the match key; an SMB group only when its
    ``data.fetch.logic`` is set explicitly (an SMB has one location: nothing to route)."""
    explicit = any(p.key == props.DATA_FETCH_LOGIC for p in group.properties)
    return group.business.kind == ENTERPRISE or explicit


async def check_match_keys(session: AsyncSession, *, group: IntegrationGroup, field: str) -> None:
    """Refuse a group change that leaves a mapping without the match key (422)."""
    if not requires_match_key(group):
        return
    key = match_key(group)
    having = select(MappingProperty.mapping_id).where(MappingProperty.key == key)
    lacking = (
        (
            await session.execute(
                select(IntegrationMapping.id).where(
                    IntegrationMapping.group_id == group.id, IntegrationMapping.id.not_in(having)
                )
            )
        )
        .scalars()
        .all()
    )
    if lacking:
        ids = ", ".join(str(i) for i in sorted(lacking))
        raise InvalidInput(f"mappings {ids} have no {key}; set it on them first", field=field)


def _check(
    items: Sequence[PropertyInput],
    *,
    source: SourceSpec | None,
    plugins: Plugins,
    field: str = "integrationGroupProperties",
) -> list[props.CheckedProperty]:
    return props.check_properties(
        [(p.key, p.value, p.is_secure) for p in items],
        level="group",
        source=source,
        plugins=plugins,
        field=field,
    )


async def _audit(
    session: AsyncSession,
    *,
    clock: Clock,
    principal: Principal,
    group: IntegrationGroup,
    action: str,
    details: dict[str, object],
) -> None:
    business: Business = group.business
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action=action,
        target_type="integration_group",
        target_id=str(group.id),
        business_id=business.id,
        details=details,
    )
