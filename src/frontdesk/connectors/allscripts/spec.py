"""The Allscripts (Veradigm Unity) source: its catalog entry, property keys and connector.

Source 32 ``ALLSCRIPTS`` with trigger 56 ``allscriptsAppointmentTriggerService``, exactly as
the support guide lists them. Group properties: ``User_Name`` (the Unity ServiceUser, secure),
``PM_Password`` (secure, expires every 90 days), ``pms_user_name`` and optionally
``allscripts.unity.url`` (staff only, allow-listed); per location
``allscripts.location.name`` (the match key); allow-lists ``allscripts.appointment.status``
and ``allscripts.appointment.type`` (group default, location override). The app's own
Unity service credentials (``FRONTDESK_UNITY__*``) go along with every call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from frontdesk.clock import Clock
from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import Connector
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.connectors.spec import (
    CatalogEntry,
    PluggedSource,
    PropertySpec,
    SourceSpec,
    TriggerSpec,
    allow_list,
    http_url,
    text,
)
from frontdesk.settings import Settings

NAME = "ALLSCRIPTS"
LOCATION_NAME = "allscripts.location.name"
STATUS = "allscripts.appointment.status"
TYPE = "allscripts.appointment.type"
PASSWORD = "PM_Password"  # noqa: S105 (a property key)
SERVICE_USER = "User_Name"
PM_USER = "pms_user_name"
UNITY_URL = "allscripts.unity.url"

# ``ubiquity_id:client_id^tenant_id^`` (e.g. ``10220c34e:0010220^1^``) or the older ``id:user``.
_SERVICE_USER = re.compile(r"^[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-]+(\^\d+\^)?$")


def service_user(value: str) -> str:
    """The Unity ServiceUser, ``ubiquity_id:client_id^tenant_id^``."""
    if not _SERVICE_USER.match(value.strip()):
        raise ValueError("must look like ubiquity_id:client_id^tenant_id^")
    return value.strip()


SPEC = SourceSpec(
    catalog=CatalogEntry(
        source_id=32,
        name=NAME,
        display_name="Allscripts",
        integration_type="Birdeye API",
        triggers=(
            TriggerSpec(
                trigger_id=56,
                name="allscriptsAppointmentTriggerService",
                display_name="Allscripts Appointment Trigger",
                description="This trigger is used to fetch appointments from Allscripts "
                "based upon the date specified",
            ),
        ),
    ),
    properties=(
        PropertySpec(
            SERVICE_USER,
            "service-user",
            service_user,
            "group",
            secure=True,
            required=True,
            description="Unity ServiceUser ubiquity_id:client_id^tenant_id^",
        ),
        PropertySpec(
            PASSWORD,
            "text",
            text,
            "group",
            secure=True,
            required=True,
            description="password of the PM/EHR user (expires every 90 days)",
        ),
        PropertySpec(
            PM_USER,
            "text",
            text,
            "group",
            required=True,
            description="the PM/EHR user name (Unity AppUserID)",
        ),
        PropertySpec(
            STATUS,
            "allow-list",
            allow_list,
            "both",
            description="appointment statuses that may get a review request",
        ),
        PropertySpec(
            TYPE,
            "allow-list",
            allow_list,
            "both",
            description="appointment types that may get a review request",
        ),
        PropertySpec(
            UNITY_URL,
            "url",
            http_url,
            "group",
            outbound="credentials",
            description="this client's Unity base URL (default: the app-wide setting)",
        ),
        PropertySpec(
            LOCATION_NAME,
            "text",
            text,
            "location",
            match_key=True,
            description="the location's name in Allscripts",
        ),
    ),
    match_key=LOCATION_NAME,
    status_key=STATUS,
    type_key=TYPE,
    credential_keys=(SERVICE_USER, PASSWORD, PM_USER),
    password_key=PASSWORD,
    password_max_age_days=90,
    uses_app_credentials=True,
)


def _connector(
    properties: Mapping[str, str], settings: Settings, limits: ConcurrencyLimits, clock: Clock
) -> Connector:
    return UnityConnector.from_properties(properties, settings, limits=limits, clock=clock)


SOURCE = PluggedSource(spec=SPEC, factory=_connector)
"""The Allscripts source as the composition root registers it."""
