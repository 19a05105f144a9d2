"""Mappings: a location attached to an integration group, its schedule and properties.

An SMB maps to its own group; a location maps to its enterprise's group. On a group that
routes by a match key (every multi-location group; an SMB group whose ``data.fetch.logic`` is
set) each mapping must carry that location property, and no two mappings of the group may
share its value. Location values of group keys are overrides; ``customer.fetch.delay`` at
location level is the mapping field ``customerFetchDelay``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import ENTERPRISE, validate_timezone, visible_business
from frontdesk.clock import Clock
from frontdesk.configuration.versions import record_version
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.integrations import properties as props
from frontdesk.integrations.groups import (
    PropertyInput,
    can_see_group,
    get_group,
    match_key,
    requires_match_key,
)
from frontdesk.integrations.models import (
    FREQUENCY_UNITS,
    IntegrationGroup,
    IntegrationMapping,
    MappingProperty,
    PropertyColumns,
)
from frontdesk.integrations.schedule import (
    DEFAULT_FREQUENCY,
    MAX_FREQUENCY,
    next_daily_run,
    to_utc,
)
from frontdesk.plugins import Plugins
from frontdesk.security.secrets import SecretBox

PROPERTIES_FIELD = "integrationProperties"


@dataclass(frozen=True)
class MappingChanges:
    """What a mapping update may change; None leaves a field as it is."""

    active: bool | None = None
    frequency: tuple[int, str] | None = None
    next_run_at: datetime | None = None  # naive: wall-clock time in the mapping's zone
    customer_fetch_delay: int | None = None
    clear_customer_fetch_delay: bool = False
    timezone: str | None = None
    dry_run: bool | None = None
    properties: Sequence[PropertyInput] = ()
    properties_field: str = PROPERTIES_FIELD  # "" when one property is set by URL


async def get_mapping(
    session: AsyncSession,
    *,
    mapping_id: int,
    principal: Principal | None = None,
    field: str = "mappingId",
) -> IntegrationMapping:
    """The mapping, or 404 naming ``field`` (also when ``principal`` may not see its group)."""
    mapping = await session.get(IntegrationMapping, mapping_id)
    if mapping is None or (
        principal is not None
        and (mapping.group.removed_at is not None or not can_see_group(principal, mapping.group))
    ):
        raise NotFound(f"integration mapping {mapping_id} not found", field=field)
    return mapping


async def list_mappings(
    session: AsyncSession, *, group_id: int, principal: Principal | None = None
) -> list[IntegrationMapping]:
    """The mappings of a group, by id (404 ``groupId`` if ``principal`` may not see it)."""
    group = await get_group(session, group_id=group_id, principal=principal)
    query = select(IntegrationMapping).where(IntegrationMapping.group_id == group.id)
    return list((await session.execute(query.order_by(IntegrationMapping.id))).scalars().all())


async def create_mapping(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    plugins: Plugins,
    group_id: int,
    business_number: int,
    changes: MappingChanges,
) -> IntegrationMapping:
    """Attach a location to a group; schedule defaults: active, every day, next 06:00 local."""
    group = await get_group(
        session, group_id=group_id, principal=principal, field="integrationGroupId"
    )
    business = await visible_business(session, principal=principal, number=business_number)
    _check_belongs(group, business)
    taken = await session.execute(
        select(IntegrationMapping.id).where(
            IntegrationMapping.group_id == group.id, IntegrationMapping.business_id == business.id
        )
    )
    if (existing := taken.scalar_one_or_none()) is not None:
        raise Conflict(
            f"business {business.number} is already mapped to group {group.id} "
            f"(mapping {existing})",
            field="businessNumber",
        )
    now = clock.now()
    timezone = validate_timezone(changes.timezone or business.timezone)
    value, unit = changes.frequency or DEFAULT_FREQUENCY
    mapping = IntegrationMapping(
        group=group,
        business=business,
        active=True if changes.active is None else changes.active,
        frequency_value=value,
        frequency_unit=unit,
        next_run_at=next_daily_run(now, timezone),
        customer_fetch_delay_days=None,
        timezone=timezone,
        dry_run=bool(changes.dry_run),
        created_at=now,
        updated_at=now,
        properties=[],
    )
    _apply(mapping, changes, secrets=secrets, plugins=plugins, now=now)
    session.add(mapping)
    await session.flush()
    await _check_match_key(session, mapping=mapping)
    await _audit(
        session,
        clock=clock,
        principal=principal,
        mapping=mapping,
        action="create",
        details=_summary(mapping, changes),
    )
    await record_version(session, group=mapping.group, actor=principal, clock=clock)
    return mapping


async def update_mapping(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    plugins: Plugins,
    mapping_id: int,
    changes: MappingChanges,
) -> IntegrationMapping:
    """Change a mapping's schedule, time zone, flags and (by key) location properties."""
    mapping = await get_mapping(session, mapping_id=mapping_id, principal=principal)
    now = clock.now()
    _apply(mapping, changes, secrets=secrets, plugins=plugins, now=now)
    mapping.updated_at = now
    await session.flush()
    await _check_match_key(session, mapping=mapping)
    await _audit(
        session,
        clock=clock,
        principal=principal,
        mapping=mapping,
        action="update",
        details=_summary(mapping, changes),
    )
    await record_version(session, group=mapping.group, actor=principal, clock=clock)
    return mapping


async def delete_mapping_property(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    plugins: Plugins,
    mapping_id: int,
    key: str,
) -> IntegrationMapping:
    """Remove one location property (404 if absent; 422 for the group's match key)."""
    mapping = await get_mapping(session, mapping_id=mapping_id, principal=principal)
    spec = props.spec_for(
        key, plugins.spec(mapping.group.source.name), plugins.channels.property_specs()
    )
    row = next((p for p in mapping.properties if p.key == key), None)
    if spec is not None and spec.mapping_field is not None:
        if getattr(mapping, spec.mapping_field) is None:
            raise NotFound(f"mapping {mapping_id} has no property {key}", field="propertyKey")
        setattr(mapping, spec.mapping_field, None)
    elif row is None:
        raise NotFound(f"mapping {mapping_id} has no property {key}", field="propertyKey")
    else:
        if requires_match_key(mapping.group) and key == match_key(mapping.group):
            raise InvalidInput(
                f"{key} is the group's match key: it is mandatory", field="propertyKey"
            )
        mapping.properties.remove(row)
    mapping.updated_at = clock.now()
    await session.flush()
    await _audit(
        session,
        clock=clock,
        principal=principal,
        mapping=mapping,
        action="properties.delete",
        details={"propertyKeys": [key]},
    )
    await record_version(session, group=mapping.group, actor=principal, clock=clock)
    return mapping


async def delete_mapping(
    session: AsyncSession, *, principal: Principal, clock: Clock, mapping_id: int
) -> None:
    """Detach a location from its group."""
    mapping = await get_mapping(session, mapping_id=mapping_id, principal=principal)
    await _audit(
        session,
        clock=clock,
        principal=principal,
        mapping=mapping,
        action="delete",
        details={"businessNumber": mapping.business.number},
    )
    group = mapping.group
    await session.delete(mapping)
    await session.flush()
    await record_version(session, group=group, actor=principal, clock=clock)


def effective_customer_fetch_delay(mapping: IntegrationMapping) -> int:
    """Days of delay: the mapping's override, else the group property, else the default."""
    if mapping.customer_fetch_delay_days is not None:
        return mapping.customer_fetch_delay_days
    row = next((p for p in mapping.group.properties if p.key == props.CUSTOMER_FETCH_DELAY), None)
    if row is not None and row.value:
        return int(row.value)
    return props.DEFAULT_CUSTOMER_FETCH_DELAY_DAYS


def effective_properties(mapping: IntegrationMapping, *, secrets: SecretBox) -> dict[str, str]:
    """Group properties overridden by location properties, secure values decrypted.

    Also carries the effective ``customer.fetch.delay`` and ``data.fetch.logic``. For
    internal use (connectors, the sync engine); never return it from the API.
    """
    return _merged(mapping, lambda row: props.read_value(row, secrets))


def shown_effective_properties(mapping: IntegrationMapping) -> dict[str, str]:
    """:func:`effective_properties` as the API shows it: secure values masked."""
    return _merged(mapping, props.shown_value)


def _merged(mapping: IntegrationMapping, value: Callable[[PropertyColumns], str]) -> dict[str, str]:
    merged = {p.key: value(p) for p in mapping.group.properties}
    merged.update({p.key: value(p) for p in mapping.properties})
    merged[props.CUSTOMER_FETCH_DELAY] = str(effective_customer_fetch_delay(mapping))
    merged[props.DATA_FETCH_LOGIC] = match_key(mapping.group)
    return dict(sorted(merged.items()))


def _check_belongs(group: IntegrationGroup, business: Business) -> None:
    owner = group.business
    if owner.kind == ENTERPRISE:
        if business.enterprise_id != owner.id:
            raise InvalidInput(
                f"business {business.number} is not a location of enterprise {owner.number}",
                field="businessNumber",
            )
    elif business.id != owner.id:
        raise InvalidInput(
            f"group {group.id} belongs to SMB {owner.number}: only it can be mapped",
            field="businessNumber",
        )


def _apply(
    mapping: IntegrationMapping,
    changes: MappingChanges,
    *,
    secrets: SecretBox,
    plugins: Plugins,
    now: datetime,
) -> None:
    if changes.timezone is not None:
        mapping.timezone = validate_timezone(changes.timezone)
    if changes.active is not None:
        mapping.active = changes.active
    if changes.dry_run is not None:
        mapping.dry_run = changes.dry_run
    if changes.frequency is not None:
        value, unit = changes.frequency
        if unit not in FREQUENCY_UNITS:
            raise InvalidInput("frequency unit is hours or days", field="frequency.unit")
        if not 1 <= value <= MAX_FREQUENCY[unit]:
            raise InvalidInput(
                f"frequency is 1 to {MAX_FREQUENCY[unit]} {unit}", field="frequency.value"
            )
        mapping.frequency_value, mapping.frequency_unit = value, unit
    if changes.next_run_at is not None:
        mapping.next_run_at = to_utc(changes.next_run_at, mapping.timezone)
    if changes.clear_customer_fetch_delay:
        mapping.customer_fetch_delay_days = None
    if changes.customer_fetch_delay is not None:
        if not 0 <= changes.customer_fetch_delay <= 365:
            raise InvalidInput("customerFetchDelay is 0 to 365 days", field="customerFetchDelay")
        mapping.customer_fetch_delay_days = changes.customer_fetch_delay
    checked = props.check_properties(
        [(p.key, p.value, p.is_secure) for p in changes.properties],
        level="location",
        source=plugins.spec(mapping.group.source.name),
        plugins=plugins,
        field=changes.properties_field,
    )
    rows = {p.key: p for p in mapping.properties}
    for item in checked:
        if item.spec is not None and item.spec.mapping_field is not None:
            if changes.customer_fetch_delay is not None:
                raise InvalidInput(
                    f"{item.key} and customerFetchDelay are the same setting: give one",
                    field=PROPERTIES_FIELD,
                )
            setattr(mapping, item.spec.mapping_field, int(item.value))
            continue
        row = rows.get(item.key)
        if row is None:
            row = MappingProperty()
            mapping.properties.append(row)
        props.write_value(row, item, secrets=secrets, now=now)


async def _check_match_key(session: AsyncSession, *, mapping: IntegrationMapping) -> None:
    group = mapping.group
    if not requires_match_key(group):
        return
    key = match_key(group)
    row = next((p for p in mapping.properties if p.key == key), None)
    if row is None:
        kind = "multi-location" if group.business.kind == ENTERPRISE else "this"
        raise InvalidInput(
            f"{key} is mandatory on every mapping of a {kind} group", field=PROPERTIES_FIELD
        )
    clash = await session.execute(
        select(IntegrationMapping.id)
        .join(MappingProperty, MappingProperty.mapping_id == IntegrationMapping.id)
        .where(
            IntegrationMapping.group_id == group.id,
            MappingProperty.key == key,
            MappingProperty.value == row.value,
            IntegrationMapping.id != mapping.id,
        )
    )
    if (other := clash.scalars().first()) is not None:
        raise Conflict(
            f"mapping {other} of this group already has this {key}", field=PROPERTIES_FIELD
        )


def _summary(mapping: IntegrationMapping, changes: MappingChanges) -> dict[str, object]:
    return {
        "groupId": mapping.group.id,
        "businessNumber": mapping.business.number,
        "active": mapping.active,
        "frequency": f"{mapping.frequency_value} {mapping.frequency_unit}",
        "timezone": mapping.timezone,
        "customerFetchDelay": mapping.customer_fetch_delay_days,
        "dryRun": mapping.dry_run,
        "propertyKeys": [p.key for p in changes.properties],
    }


async def _audit(
    session: AsyncSession,
    *,
    clock: Clock,
    principal: Principal,
    mapping: IntegrationMapping,
    action: str,
    details: dict[str, object],
) -> None:
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action=f"integration_mapping.{action}",
        target_type="integration_mapping",
        target_id=str(mapping.id),
        business_id=mapping.group.business.id,
        details=details,
    )
