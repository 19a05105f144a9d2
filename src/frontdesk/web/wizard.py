"""The Add-integration form: field names, parsing, saving in one transaction, error placement.

Field names of the form (one flat HTML form, filled step by step with htmx):

- ``business`` — the SMB or enterprise number; ``source`` — the integration source id;
  ``trigger`` — checked trigger ids;
- ``g:<propertyKey>`` — a group property (several values of one key, e.g. discovered
  statuses ticked plus typed ones, join into a comma-separated allow-list);
- ``loc`` — the location numbers to map; per location ``l:<number>:<field>`` with fields
  ``active``, ``freq_value``, ``freq_unit``, ``next_run``, ``name`` (the location name in the
  EHR), ``delay``, ``tz``, ``review_url`` and ``o:<propertyKey>`` (overrides).

:func:`save` calls the integration services in one transaction: the group, then each mapping;
any error rolls everything back and names the form field it belongs to
(:attr:`WizardError.field`), so the page shows it next to that field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from starlette.datastructures import FormData

from frontdesk.access.principal import Principal
from frontdesk.connectors.spec import SourceSpec
from frontdesk.context import AppContext
from frontdesk.errors import RequestError
from frontdesk.integrations import properties as props
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import PropertyInput, create_group
from frontdesk.integrations.mappings import MappingChanges, create_mapping
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.plugins import Plugins
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.web.params import db_id

REVIEW_URL = "review.url"
GENERAL = "form"


class WizardError(Exception):
    """An error to show next to form field ``field``."""

    def __init__(self, message: str, field: str = GENERAL) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def slot(name: str) -> str:
    """The id of the element that shows the error of form field ``name``."""
    return "err-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


@dataclass
class LocationDraft:
    number: int
    active: bool = True
    frequency: tuple[int, str] = (1, "days")
    next_run: datetime | None = None
    timezone: str | None = None
    delay: int | None = None
    properties: list[PropertyInput] = field(default_factory=list)
    property_fields: list[str] = field(default_factory=list)  # form field of each property


@dataclass
class Draft:
    business: int
    source_id: int
    trigger_ids: list[int]
    properties: list[PropertyInput]
    locations: list[LocationDraft]


def override_keys(source: SourceSpec | None) -> tuple[str, ...]:
    """Group keys a location may override in its drawer: the source's allow-lists."""
    return source.allow_list_keys if source is not None else ()


def values(form: FormData, name: str, *, key: str, source: SourceSpec | None) -> str:
    """The value of field ``name`` holding property ``key``.

    Allow-lists merge every value (ticked checkboxes and typed text), split on commas,
    stripped and de-duplicated; any other key takes its one value as typed (a password may
    contain commas and spaces).
    """
    raw = [v for v in form.getlist(name) if isinstance(v, str)]
    spec = props.spec_for(key, source)
    if spec is None or spec.kind != "allow-list":
        return next((v for v in raw if v.strip()), "")
    seen: list[str] = []
    for chunk in raw:
        for item in chunk.split(","):
            item = item.strip()
            if item and item not in seen:
                seen.append(item)
    return ",".join(seen)


def group_property_keys(source: SourceSpec | None) -> list[str]:
    """The group-level keys the form offers for ``source``: its own, then the core's."""
    return [s.key for s in props.specs_of(source) if s.allowed_at("group")]


def group_properties(form: FormData, *, source: SourceSpec | None) -> list[PropertyInput]:
    """The group properties typed into the form (blank optional ones left out)."""
    found: list[PropertyInput] = []
    for key in group_property_keys(source):
        value = values(form, f"g:{key}", key=key, source=source)
        if not value:
            if key in props.required_group_keys(source):
                raise WizardError(f"{key} is required", f"g:{key}")
            continue
        spec = props.spec_for(key, source)
        assert spec is not None
        found.append(PropertyInput(key=key, value=value, is_secure=spec.secure))
    return found


def parse(form: FormData, *, source: SourceSpec | None) -> Draft:
    business = _id(form.get("business"), "business", "choose the practice")
    source_id = _id(form.get("source"), "source", "choose the integration source")
    triggers = [_id(t, "trigger", "a trigger id is a number") for t in form.getlist("trigger")]
    if not triggers:
        raise WizardError("choose at least one trigger", "trigger")
    properties = group_properties(form, source=source)
    numbers = [_id(n, GENERAL, "a location number is a number") for n in form.getlist("loc")]
    if not numbers:
        raise WizardError("map at least one location", "loc")
    return Draft(
        business=business,
        source_id=source_id,
        trigger_ids=triggers,
        properties=properties,
        locations=[_location(form, n, source=source) for n in numbers],
    )


def _location(form: FormData, number: int, *, source: SourceSpec | None) -> LocationDraft:
    prefix = f"l:{number}:"
    draft = LocationDraft(number=number)
    draft.active = _text(form.get(prefix + "active")) != "inactive"
    freq_value = _int(form.get(prefix + "freq_value"), prefix + "freq_value", "a whole number")
    draft.frequency = (freq_value, _text(form.get(prefix + "freq_unit")) or "days")
    next_run = _text(form.get(prefix + "next_run"))
    if next_run:
        try:
            draft.next_run = datetime.fromisoformat(next_run).replace(tzinfo=None)
        except ValueError:
            raise WizardError("a date and time", prefix + "next_run") from None
    draft.timezone = _text(form.get(prefix + "tz")) or None
    delay = _text(form.get(prefix + "delay"))
    if delay:
        draft.delay = _int(delay, prefix + "delay", "a whole number of days")
    wanted = [(REVIEW_URL, prefix + "review_url")]
    if source is not None:
        wanted.insert(0, (source.match_key, prefix + "name"))
    wanted += [(key, f"{prefix}o:{key}") for key in override_keys(source)]
    for key, name in wanted:
        spec = props.spec_for(key, source)
        value = values(form, name, key=key, source=source)
        if value:
            draft.properties.append(
                PropertyInput(key=key, value=value, is_secure=bool(spec and spec.secure))
            )
            draft.property_fields.append(name)
    return draft


async def save(
    ctx: AppContext, plugins: Plugins, *, principal: Principal, draft: Draft
) -> IntegrationGroup:
    """Create the group and its mappings in one transaction (all or nothing)."""
    async with ctx.db.transaction() as session:
        try:
            group = await create_group(
                session,
                principal=principal,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                parent_business_number=draft.business,
                source_id=draft.source_id,
                triggers=[TriggerRef(trigger_id=t) for t in draft.trigger_ids],
                properties=draft.properties,
                outbound=OutboundPolicy.from_settings(ctx.settings),
            )
        except RequestError as error:
            raise WizardError(error.message, _group_field(error.field, draft)) from None
        for location in draft.locations:
            try:
                await create_mapping(
                    session,
                    principal=principal,
                    clock=ctx.clock,
                    secrets=ctx.secrets,
                    plugins=plugins,
                    group_id=group.id,
                    business_number=location.number,
                    changes=MappingChanges(
                        active=location.active,
                        frequency=location.frequency,
                        next_run_at=location.next_run,
                        customer_fetch_delay=location.delay,
                        timezone=location.timezone,
                        properties=location.properties,
                    ),
                )
            except RequestError as error:
                message = f"location {location.number}: {error.message}"
                raise WizardError(message, _mapping_field(error.field, location)) from None
        return group


def _group_field(name: str | None, draft: Draft) -> str:
    if not name:
        return GENERAL
    if name == "parentBusinessNumber":
        return "business"
    if name == "integrationSourceId":
        return "source"
    if name.startswith("integrationGroupTriggers"):
        return "trigger"
    if match := re.match(r"integrationGroupProperties\.(\d+)\.", name):
        index = int(match[1])
        if index < len(draft.properties):
            return f"g:{draft.properties[index].key}"
    return GENERAL


def _mapping_field(name: str | None, location: LocationDraft) -> str:
    prefix = f"l:{location.number}:"
    if not name:
        return prefix + "name"
    if match := re.match(r"integrationProperties\.(\d+)\.", name):
        index = int(match[1])
        if index < len(location.property_fields):
            return location.property_fields[index]
    simple = {
        "timezone": "tz",
        "frequency.value": "freq_value",
        "frequency.unit": "freq_value",
        "customerFetchDelay": "delay",
        "integrationProperties": "name",
        "businessNumber": "name",
    }
    return prefix + simple.get(name, "name")


def error_slots(form: FormData) -> Sequence[str]:
    """Every field of the posted form that has an error slot on the page."""
    names = {GENERAL, "business", "source", "trigger", "loc"}
    names.update(k for k in form if k.startswith(("g:", "l:")))
    return sorted(names)


def _id(value: object, field_name: str, message: str) -> int:
    """A row id or business number (1 .. 2**63-1), or a WizardError."""
    number = db_id(value)
    if number is None:
        raise WizardError(message, field_name)
    return number


def _int(value: object, field_name: str, message: str) -> int:
    try:
        return int(_text(value))
    except ValueError:
        raise WizardError(message, field_name) from None


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
