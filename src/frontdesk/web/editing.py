"""Editing a saved integration in the dashboard: the forms' fields, parsing, one save each.

Every form calls the integration services (``integrations/groups.py``, ``mappings.py``) in
one transaction, the same functions the integration API uses, so the checks, the audit events
and whatever else the services do for every change apply here too. An error rolls the whole
form back and names the form field it belongs to (:class:`~frontdesk.web.wizard.WizardError`).

Field names:

- group properties: ``g:<propertyKey>``. A secure key left blank keeps its value (the page
  never holds it); any other key left blank is removed (a required one is refused);
- triggers: ``trigger`` (checked ids) and ``mode`` — ``add`` or ``replace`` (the guide's
  ``replaceTriggers``);
- a location: ``<prefix>active``, ``dry_run``, ``freq_value``, ``freq_unit``, ``next_run``
  (blank keeps the scheduled time), ``tz``, ``name`` (the source's match key), ``delay``
  (blank: the group's), ``review_url``, ``channel`` (blank: the group's) and ``o:<key>``
  (allow-list overrides); the prefix is ``m:<mappingId>:`` for a saved location and ``new:``
  for one being added (with ``new:business``, the location's number).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from starlette.datastructures import FormData

from frontdesk.access.principal import Principal
from frontdesk.connectors.spec import SourceSpec
from frontdesk.context import AppContext
from frontdesk.errors import RequestError
from frontdesk.integrations import properties as props
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import (
    PropertyInput,
    delete_group_property,
    get_group,
    set_group_properties,
    update_triggers,
)
from frontdesk.integrations.mappings import (
    MappingChanges,
    create_mapping,
    delete_mapping_property,
    get_mapping,
    update_mapping,
)
from frontdesk.integrations.models import IntegrationMapping
from frontdesk.plugins import Plugins
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.web.params import db_id
from frontdesk.web.wizard import GENERAL, REVIEW_URL, WizardError, override_keys, values

NEW = "new:"


def mapping_prefix(mapping_id: int) -> str:
    return f"m:{mapping_id}:"


@dataclass
class LocationEdit:
    """A location form, parsed: what to set, what to remove, and the field of each property."""

    changes: MappingChanges
    remove: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # property key -> form field


def location_keys(source: SourceSpec | None) -> list[tuple[str, str]]:
    """(property key, field suffix) of the location properties a location form edits."""
    keys = [(REVIEW_URL, "review_url"), (props.CHANNEL, "channel")]
    if source is not None and source.match_key:
        keys.insert(0, (source.match_key, "name"))
    keys += [(key, f"o:{key}") for key in override_keys(source)]
    return keys


def parse_location(
    form: FormData,
    prefix: str,
    *,
    source: SourceSpec | None,
    mapping: IntegrationMapping | None,
) -> LocationEdit:
    """The location form with ``prefix``; ``mapping`` is the saved one (None when adding)."""
    freq = _text(form.get(prefix + "freq_value"))
    try:
        frequency = (int(freq), _text(form.get(prefix + "freq_unit")) or "days")
    except ValueError:
        raise WizardError("a whole number", prefix + "freq_value") from None
    next_run = None
    if moment := _text(form.get(prefix + "next_run")):
        try:
            next_run = datetime.fromisoformat(moment).replace(tzinfo=None)
        except ValueError:
            raise WizardError("a date and time", prefix + "next_run") from None
    delay: int | None = None
    if typed := _text(form.get(prefix + "delay")):
        try:
            delay = int(typed)
        except ValueError:
            raise WizardError("a whole number of days", prefix + "delay") from None
    saved = {p.key: p.value or "" for p in mapping.properties} if mapping else {}
    edit = LocationEdit(changes=MappingChanges())
    wanted: list[PropertyInput] = []
    for key, suffix in location_keys(source):
        name = prefix + suffix
        edit.fields[key] = name
        value = values(form, name, key=key, source=source)
        if value and value != saved.get(key):
            spec = props.spec_for(key, source)
            wanted.append(PropertyInput(key=key, value=value, is_secure=bool(spec and spec.secure)))
        elif not value and key in saved:
            if source is not None and key == source.match_key:
                raise WizardError("the location name is required", name)
            edit.remove.append(key)
    edit.changes = MappingChanges(
        active=_text(form.get(prefix + "active")) != "inactive",
        dry_run=bool(form.get(prefix + "dry_run")),
        frequency=frequency,
        next_run_at=next_run,
        customer_fetch_delay=delay,
        clear_customer_fetch_delay=delay is None
        and mapping is not None
        and mapping.customer_fetch_delay_days is not None,
        timezone=_text(form.get(prefix + "tz")) or None,
        properties=wanted,
    )
    return edit


async def save_location(
    ctx: AppContext,
    plugins: Plugins,
    *,
    principal: Principal,
    mapping_id: int,
    form: FormData,
) -> IntegrationMapping:
    """Apply a saved location's form: one ``update_mapping`` and the removed properties."""
    prefix = mapping_prefix(mapping_id)
    async with ctx.db.transaction() as session:
        mapping = await get_mapping(session, mapping_id=mapping_id, principal=principal)
        source = plugins.spec(mapping.group.source.name)
        edit = parse_location(form, prefix, source=source, mapping=mapping)
        for key in edit.remove:
            with _placed(edit, prefix, fallback=edit.fields[key]):
                await delete_mapping_property(
                    session,
                    principal=principal,
                    clock=ctx.clock,
                    plugins=plugins,
                    mapping_id=mapping_id,
                    key=key,
                )
        with _placed(edit, prefix):
            return await update_mapping(
                session,
                principal=principal,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                mapping_id=mapping_id,
                changes=edit.changes,
            )


async def add_location(
    ctx: AppContext, plugins: Plugins, *, principal: Principal, group_id: int, form: FormData
) -> IntegrationMapping:
    """Map one more location to the group (``create_mapping``)."""
    number = db_id(form.get(NEW + "business"))
    if number is None:
        raise WizardError("choose the location", NEW + "business")
    async with ctx.db.transaction() as session:
        group = await get_group(session, group_id=group_id, principal=principal)
        edit = parse_location(form, NEW, source=plugins.spec(group.source.name), mapping=None)
        with _placed(edit, NEW):
            return await create_mapping(
                session,
                principal=principal,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                group_id=group_id,
                business_number=number,
                changes=edit.changes,
            )


async def save_group_properties(
    ctx: AppContext, plugins: Plugins, *, principal: Principal, group_id: int, form: FormData
) -> list[str]:
    """Set the changed group properties and remove the cleared ones; the keys changed."""
    async with ctx.db.transaction() as session:
        group = await get_group(session, group_id=group_id, principal=principal)
        source = plugins.spec(group.source.name)
        saved = {p.key: p for p in group.properties}
        wanted: list[PropertyInput] = []
        removed: list[str] = []
        for spec in props.specs_of(source, plugins.channels.property_specs()):
            name = f"g:{spec.key}"
            if not spec.allowed_at("group") or name not in form:
                continue
            value = values(form, name, key=spec.key, source=source)
            row = saved.get(spec.key)
            if value and (spec.secure or row is None or value != row.value):
                wanted.append(PropertyInput(key=spec.key, value=value, is_secure=spec.secure))
            elif not value and row is not None and not spec.secure:
                if spec.required:
                    raise WizardError(f"{spec.key} is required", name)
                removed.append(spec.key)
        try:
            for key in removed:
                await delete_group_property(
                    session,
                    principal=principal,
                    clock=ctx.clock,
                    plugins=plugins,
                    group_id=group_id,
                    key=key,
                )
            if wanted:
                await set_group_properties(
                    session,
                    principal=principal,
                    clock=ctx.clock,
                    secrets=ctx.secrets,
                    plugins=plugins,
                    group_id=group_id,
                    properties=wanted,
                    outbound=OutboundPolicy.from_settings(ctx.settings),
                )
        except RequestError as error:
            raise WizardError(error.message, _property_field(error.field, wanted)) from None
        return sorted([*removed, *(w.key for w in wanted)])


async def save_triggers(
    ctx: AppContext, plugins: Plugins, *, principal: Principal, group_id: int, form: FormData
) -> None:
    """Add the checked triggers to the group's, or replace them (``replaceTriggers``)."""
    ids = [db_id(t) for t in form.getlist("trigger")]
    if not ids or None in ids:
        raise WizardError("choose at least one trigger", "trigger")
    mode = _text(form.get("mode"))
    if mode not in ("add", "replace"):
        raise WizardError("choose to add or to replace", "mode")
    async with ctx.db.transaction() as session:
        await get_group(session, group_id=group_id, principal=principal)  # 404 stays a 404
        try:
            await update_triggers(
                session,
                principal=principal,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                group_id=group_id,
                triggers=[TriggerRef(trigger_id=t) for t in ids if t is not None],
                replace=mode == "replace",
            )
        except RequestError as error:
            raise WizardError(error.message, "trigger") from None


@contextmanager
def _placed(edit: LocationEdit, prefix: str, *, fallback: str | None = None) -> Iterator[None]:
    """A mapping service's error, placed next to the form field it names."""
    try:
        yield
    except RequestError as error:
        raise WizardError(error.message, fallback or _location_field(error, edit, prefix)) from None


def _location_field(error: RequestError, edit: LocationEdit, prefix: str) -> str:
    name = error.field or ""
    if match := re.match(r"integrationProperties\.(\d+)\.", name):
        index = int(match[1])
        if index < len(edit.changes.properties):
            return edit.fields[edit.changes.properties[index].key]
    simple = {
        "timezone": "tz",
        "frequency.value": "freq_value",
        "frequency.unit": "freq_value",
        "customerFetchDelay": "delay",
        "integrationProperties": "name",
        "businessNumber": "business" if prefix == NEW else "name",
        "propertyKey": "name",
    }
    return prefix + simple[name] if name in simple else GENERAL


def _property_field(name: str | None, wanted: list[PropertyInput]) -> str:
    if name and (match := re.match(r"integrationGroupProperties\.(\d+)\.", name)):
        index = int(match[1])
        if index < len(wanted):
            return f"g:{wanted[index].key}"
    return GENERAL


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
