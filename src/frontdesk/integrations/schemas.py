"""Request and response shapes of ``/integration/...``, with the support guide's field names.

The guide's keys are kept exactly; extra keys are only ever added after them. Secure property
values are rendered as ``"********"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from frontdesk.connectors.spec import SourceSpec
from frontdesk.db.bounds import DbId
from frontdesk.errors import InvalidInput
from frontdesk.integrations import properties as props
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import PropertyInput
from frontdesk.integrations.mappings import (
    MappingChanges,
    effective_customer_fetch_delay,
    shown_effective_properties,
)
from frontdesk.integrations.models import (
    IntegrationGroup,
    IntegrationMapping,
    IntegrationSource,
    IntegrationTrigger,
    PropertyColumns,
)
from frontdesk.integrations.schedule import local_iso
from frontdesk.plugins import Plugins

Status = Literal["active", "inactive"]


def _number_as_text(value: Any) -> Any:
    # JSON numbers are accepted for numeric properties (e.g. customer.fetch.delay: 2).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


PropertyValue = Annotated[str, BeforeValidator(_number_as_text)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PropertyIn(_In):
    propertyKey: str
    propertyValue: PropertyValue
    isSecure: bool = False

    def to_input(self) -> PropertyInput:
        return PropertyInput(
            key=self.propertyKey, value=self.propertyValue, is_secure=self.isSecure
        )


class PropertyValueIn(_In):
    propertyValue: PropertyValue
    isSecure: bool = False


class TriggerIn(_In):
    triggerId: DbId
    triggerTypeId: DbId | None = Field(default=None, description="default: the trigger's own type")

    def to_ref(self) -> TriggerRef:
        return TriggerRef(trigger_id=self.triggerId, trigger_type_id=self.triggerTypeId)


class GroupCreateIn(_In):
    parentBusinessNumber: DbId = Field(description="the SMB's business number, or the enterprise's")
    integrationSourceId: DbId
    integrationGroupTriggers: list[TriggerIn]
    integrationGroupProperties: list[PropertyIn] = []


class GroupTriggersIn(_In):
    groupId: DbId
    integrationGroupTriggers: list[TriggerIn]
    integrationGroupProperties: list[PropertyIn] = Field(
        default=[], description="optional: set these group properties too (by key)"
    )


class GroupPatchIn(_In):
    status: Status | None = None
    integrationGroupProperties: list[PropertyIn] = Field(
        default=[], description="set these group properties (by key); others are kept"
    )


class FrequencyIn(_In):
    value: int
    unit: Literal["hours", "days"]


class MappingPatchIn(_In):
    active: bool | None = None
    status: Status | None = Field(default=None, description="same as active; give one")
    frequency: FrequencyIn | None = None
    nextRunTime: datetime | None = Field(
        default=None, description="ISO 8601; without an offset: wall-clock time in the time zone"
    )
    customerFetchDelay: int | None = Field(
        default=None, description="days; null clears the override (group default applies)"
    )
    timezone: str | None = Field(default=None, description="IANA zone (default: the business's)")
    dryRun: bool | None = None
    integrationProperties: list[PropertyIn] = []

    def to_changes(self) -> MappingChanges:
        both = self.active is not None and self.status is not None
        if both and self.active != (self.status == "active"):
            raise InvalidInput("active and status disagree", field="status")
        active = self.active if self.status is None else self.status == "active"
        return MappingChanges(
            active=active,
            frequency=(self.frequency.value, self.frequency.unit) if self.frequency else None,
            next_run_at=self.nextRunTime,
            customer_fetch_delay=self.customerFetchDelay,
            clear_customer_fetch_delay="customerFetchDelay" in self.model_fields_set
            and self.customerFetchDelay is None,
            timezone=self.timezone,
            dry_run=self.dryRun,
            properties=[p.to_input() for p in self.integrationProperties],
        )


class MappingCreateIn(MappingPatchIn):
    businessNumber: DbId
    integrationGroupId: DbId


class SourceTypeOut(BaseModel):
    id: int
    integrationSource: str
    sourceCategory: str
    integrationType: str
    oauthEnabled: bool


class SourceOut(SourceTypeOut):
    lifecycle: str = Field(description="live or beta (beta sources send no review requests)")


class TriggerTypeOut(BaseModel):
    id: int
    name: str


class TriggerOut(BaseModel):
    id: int
    triggerService: str
    displayName: str
    description: str
    active: bool
    integrationTriggerType: list[TriggerTypeOut]
    actionGroupId: int


class GroupTriggerOut(BaseModel):
    triggerId: int
    triggerTypeId: int
    actionIds: list[int]


class PropertyOut(BaseModel):
    propertyKey: str
    propertyValue: str = Field(description='secure values are always "********"')
    isSecure: bool
    known: bool = Field(description="false: the key is not in the registry (kept as sent)")
    updatedAt: datetime


class GroupOut(BaseModel):
    groupId: int
    integrationSourceType: SourceTypeOut
    integrationGroupTriggers: list[GroupTriggerOut]
    businessNumber: int
    status: str = Field(description="active, inactive or unauthorized")
    statusReason: str | None
    integrationGroupProperties: list[PropertyOut]
    unknownPropertyKeys: list[str]
    createdAt: datetime
    updatedAt: datetime


class FrequencyOut(BaseModel):
    value: int
    unit: str


class MappingOut(BaseModel):
    mappingId: int
    businessNumber: int
    integrationGroupId: int
    active: bool
    status: Status
    frequency: FrequencyOut
    nextRunTime: str = Field(description="ISO 8601 in the mapping's time zone")
    customerFetchDelay: int | None = Field(description="the location override, days")
    effectiveCustomerFetchDelay: int
    timezone: str
    dryRun: bool
    integrationProperties: list[PropertyOut]
    unknownPropertyKeys: list[str]
    effectiveProperties: dict[str, str] = Field(
        description="group properties with location overrides; secure values masked"
    )
    createdAt: datetime
    updatedAt: datetime


def source_out(source: IntegrationSource) -> SourceOut:
    return SourceOut(
        id=source.id,
        integrationSource=source.name,
        sourceCategory=source.source_category,
        integrationType=source.integration_type,
        oauthEnabled=source.oauth_enabled,
        lifecycle=source.lifecycle,
    )


def trigger_out(trigger: IntegrationTrigger) -> TriggerOut:
    return TriggerOut(
        id=trigger.id,
        triggerService=trigger.trigger_service,
        displayName=trigger.display_name,
        description=trigger.description,
        active=trigger.active,
        integrationTriggerType=[
            TriggerTypeOut(id=trigger.trigger_type.id, name=trigger.trigger_type.name)
        ],
        actionGroupId=trigger.action_group_id,
    )


def _properties_out(
    rows: Sequence[PropertyColumns], source: SourceSpec | None, plugins: Plugins
) -> list[PropertyOut]:
    channels = plugins.channels.property_specs()
    return [
        PropertyOut(
            propertyKey=row.key,
            propertyValue=props.shown_value(row),
            isSecure=row.is_secure,
            known=props.spec_for(row.key, source, channels) is not None,
            updatedAt=row.updated_at,
        )
        for row in sorted(rows, key=lambda r: r.key)
    ]


def group_out(group: IntegrationGroup, plugins: Plugins) -> GroupOut:
    source = group.source
    spec = plugins.spec(source.name)
    return GroupOut(
        groupId=group.id,
        integrationSourceType=SourceTypeOut(
            id=source.id,
            integrationSource=source.name,
            sourceCategory=source.source_category,
            integrationType=source.integration_type,
            oauthEnabled=source.oauth_enabled,
        ),
        integrationGroupTriggers=[
            GroupTriggerOut(
                triggerId=t.trigger_id,
                triggerTypeId=t.trigger_type_id,
                actionIds=[t.trigger.action_group_id],
            )
            for t in sorted(group.triggers, key=lambda t: t.trigger_id)
        ],
        businessNumber=group.business.number,
        status=group.status,
        statusReason=group.status_reason,
        integrationGroupProperties=_properties_out(group.properties, spec, plugins),
        unknownPropertyKeys=props.unknown_keys(
            (p.key for p in group.properties), spec, plugins.channels.property_specs()
        ),
        createdAt=group.created_at,
        updatedAt=group.updated_at,
    )


def mapping_out(mapping: IntegrationMapping, plugins: Plugins) -> MappingOut:
    source = plugins.spec(mapping.group.source.name)
    return MappingOut(
        mappingId=mapping.id,
        businessNumber=mapping.business.number,
        integrationGroupId=mapping.group_id,
        active=mapping.active,
        status="active" if mapping.active else "inactive",
        frequency=FrequencyOut(value=mapping.frequency_value, unit=mapping.frequency_unit),
        nextRunTime=local_iso(mapping.next_run_at, mapping.timezone),
        customerFetchDelay=mapping.customer_fetch_delay_days,
        effectiveCustomerFetchDelay=effective_customer_fetch_delay(mapping),
        timezone=mapping.timezone,
        dryRun=mapping.dry_run,
        integrationProperties=_properties_out(mapping.properties, source, plugins),
        unknownPropertyKeys=props.unknown_keys(
            (p.key for p in mapping.properties), source, plugins.channels.property_specs()
        ),
        effectiveProperties=shown_effective_properties(mapping),
        createdAt=mapping.created_at,
        updatedAt=mapping.updated_at,
    )
