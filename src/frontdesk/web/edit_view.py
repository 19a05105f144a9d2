"""What the Edit-integration page shows: current values, choices, and a refused form as typed.

:class:`FormState` carries the one form that was posted and refused: the page is rendered
again with that form's values as typed (secure values excepted: they are never sent back)
and the error next to its field; every other form shows the saved values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from frontdesk.businesses.models import Business
from frontdesk.businesses.service import ENTERPRISE, locations_of
from frontdesk.integrations import properties as props
from frontdesk.integrations.catalog import list_triggers
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.plugins import Plugins
from frontdesk.web.editing import location_keys
from frontdesk.web.wizard import GENERAL, override_keys, slot

FREQUENCY_UNITS = ("days", "hours")


@dataclass
class FormState:
    """The refused form (``form_id``), its values as typed and the error's field."""

    form_id: str = ""
    posted: dict[str, list[str]] = field(default_factory=dict)
    error_field: str = ""
    message: str = ""

    @classmethod
    def refused(
        cls, form_id: str, form: FormData, *, field_name: str, message: str, secure: set[str]
    ) -> FormState:
        posted: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if isinstance(value, str) and name != "csrf_token" and name not in secure:
                posted.setdefault(name, []).append(value)
        return cls(form_id=form_id, posted=posted, error_field=field_name, message=message)

    def value(self, form_id: str, name: str, saved: object) -> str:
        """The value to show in field ``name`` of form ``form_id``."""
        if form_id == self.form_id:
            return ",".join(self.posted.get(name, []))
        return "" if saved is None else str(saved)

    def checked(self, form_id: str, name: str, saved: bool, value: str = "on") -> bool:
        if form_id == self.form_id:
            return value in self.posted.get(name, [])
        return saved

    def error(self, name: str) -> str:
        """The message to show under field ``name`` (one field at a time)."""
        return self.message if name == self.error_field else ""

    def general(self, form_id: str) -> str:
        """The message for form ``form_id`` that belongs to no single field."""
        if form_id == self.form_id and self.error_field in (GENERAL, ""):
            return self.message
        return ""


@dataclass(frozen=True)
class LocationView:
    """One mapped location as its form shows it."""

    mapping: IntegrationMapping
    prefix: str
    values: dict[str, Any]  # field suffix -> saved value


def local_input(moment: datetime, timezone: str) -> str:
    """A UTC time as a ``datetime-local`` input's value in ``timezone``."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def location_view(mapping: IntegrationMapping, plugins: Plugins) -> LocationView:
    source = plugins.spec(mapping.group.source.name)
    saved = {p.key: p.value or "" for p in mapping.properties}
    shown: dict[str, Any] = {suffix: saved.get(key, "") for key, suffix in location_keys(source)}
    shown |= {
        "dry_run": mapping.dry_run,
        "active": "active" if mapping.active else "inactive",
        "freq_value": str(mapping.frequency_value),
        "freq_unit": mapping.frequency_unit,
        "next_run": local_input(mapping.next_run_at, mapping.timezone),
        "tz": mapping.timezone,
        "delay": ""
        if mapping.customer_fetch_delay_days is None
        else str(mapping.customer_fetch_delay_days),
    }
    return LocationView(mapping=mapping, prefix=f"m:{mapping.id}:", values=shown)


async def addable_locations(
    session: AsyncSession, group: IntegrationGroup, mapped: Sequence[IntegrationMapping]
) -> list[Business]:
    """The locations that may still join the group: the enterprise's unmapped locations
    (or the SMB itself when it is not mapped)."""
    taken = {m.business_id for m in mapped}
    owner = group.business
    candidates = (
        list(await locations_of(session, business=owner)) if owner.kind == ENTERPRISE else [owner]
    )
    return [b for b in candidates if b.id not in taken]


async def edit_context(
    session: AsyncSession,
    *,
    group: IntegrationGroup,
    mappings: Sequence[IntegrationMapping],
    plugins: Plugins,
) -> dict[str, Any]:
    """Everything ``integrations/edit.html`` needs besides the form state."""
    source = plugins.spec(group.source.name)
    saved = {p.key: p for p in group.properties}
    channel_specs = plugins.channels.property_specs()  # e.g. the sms channel's sender
    group_specs = [s for s in props.specs_of(source, channel_specs) if s.allowed_at("group")]
    return {
        "group": group,
        "group_specs": group_specs,
        "saved": {k: (p.value or "") for k, p in saved.items() if not p.is_secure},
        "secure_set": {k for k, p in saved.items() if p.is_secure},
        "required": set(props.required_group_keys(source)),
        "match_keys": sorted(s.key for s in props.specs_of(source) if s.match_key),
        "unknown": sorted(k for k in saved if props.spec_for(k, source, channel_specs) is None),
        "triggers": [t for t in await list_triggers(session, source_id=group.source_id)],
        "enabled": {t.trigger_id for t in group.triggers},
        "locations": [location_view(m, plugins) for m in mappings],
        "addable": await addable_locations(session, group, mappings),
        "match_key": source.match_key if source else "",
        "override_specs": [props.spec_for(k, source) for k in override_keys(source)],
        "channels": plugins.channels.names(),
        "units": FREQUENCY_UNITS,
        "multi": group.business.kind == ENTERPRISE,
        "slot": slot,
    }
