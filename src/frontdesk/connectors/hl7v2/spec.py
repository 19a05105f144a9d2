"""The HL7v2 source: its catalog entry, property keys and connector.

Source 34 ``HL7V2`` (lifecycle ``live``) with trigger 58 ``hl7SchedulingTriggerService``
"HL7 Scheduling Trigger" (type ``JOB``: the schedule reads the message store like any pull).
Group properties: ``hl7.sending.facility`` (MSH-4.1 values routed to this group; comma list),
``hl7.timezone`` (IANA zone of times sent without an offset, default UTC); allow-lists
``hl7.appointment.status`` (SCH-25 filler statuses meaning the visit happened, default
``Complete``) and ``hl7.appointment.type`` (SCH-8 / AIS-3 types, empty: all), group default
and location override; per location ``hl7.location.id`` (the match key, against AIL-3.1 or
PV1-3.1). No credentials: the sender connects to us.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from frontdesk.clock import Clock
from frontdesk.connectors.base import Connector
from frontdesk.connectors.hl7v2.connector import Hl7Connector, zone_of
from frontdesk.connectors.hl7v2.keys import (
    DEFAULT_STATUSES,
    FACILITY,
    LOCATION,
    NAME,
    SOURCE_ID,
    STATUS,
    TIMEZONE,
    TRIGGER_ID,
    TYPE,
)
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.connectors.spec import (
    CatalogEntry,
    PluggedSource,
    PropertySpec,
    SourceSpec,
    TriggerSpec,
    allow_list,
    text,
)
from frontdesk.errors import ConfigurationError
from frontdesk.hl7.store import MessageStore
from frontdesk.settings import Settings


def time_zone(value: str) -> str:
    """An IANA time zone name."""
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be an IANA time zone, e.g. America/New_York") from exc
    return value.strip()


SPEC = SourceSpec(
    catalog=CatalogEntry(
        source_id=SOURCE_ID,
        name=NAME,
        display_name="HL7v2 (MLLP)",
        triggers=(
            TriggerSpec(
                trigger_id=TRIGGER_ID,
                name="hl7SchedulingTriggerService",
                display_name="HL7 Scheduling Trigger",
                description="This trigger reads the SIU and ADT messages received over MLLP "
                "for the days specified",
            ),
        ),
    ),
    properties=(
        PropertySpec(
            FACILITY,
            "allow-list",
            allow_list,
            "group",
            required=True,
            description="sending facilities (MSH-4.1) whose messages belong to this group",
        ),
        PropertySpec(
            STATUS,
            "allow-list",
            allow_list,
            "both",
            default=DEFAULT_STATUSES,
            description="SCH-25 filler statuses meaning the visit happened (default Complete)",
        ),
        PropertySpec(
            TYPE,
            "allow-list",
            allow_list,
            "both",
            description="appointment types (SCH-8 / AIS-3) that may get a review request",
        ),
        PropertySpec(
            TIMEZONE,
            "timezone",
            time_zone,
            "group",
            description="time zone of message times sent without an offset (default UTC)",
        ),
        PropertySpec(
            LOCATION,
            "text",
            text,
            "location",
            match_key=True,
            description="the location's id in the feed (AIL-3.1, or PV1-3.1 for ADT)",
        ),
    ),
    match_key=LOCATION,
    status_key=STATUS,
    type_key=TYPE,
)


def source(store: MessageStore | None) -> PluggedSource:
    """The HL7 source reading ``store`` (None: this process has no store; reads refuse)."""

    def connector(
        properties: Mapping[str, str], settings: Settings, limits: ConcurrencyLimits, clock: Clock
    ) -> Connector:
        if store is None:
            raise ConfigurationError("the HL7 message store is not available in this process")
        facilities = [f.strip() for f in properties.get(FACILITY, "").split(",") if f.strip()]
        if not facilities:
            raise ConfigurationError(f"{FACILITY} is not set", field=FACILITY)
        return Hl7Connector(store, facilities=facilities, zone=zone_of(properties.get(TIMEZONE)))

    return PluggedSource(spec=SPEC, factory=connector)
