"""The FHIR R4 source: its catalog entry, property keys and connector.

Source 33 ``FHIR_R4`` with trigger 57 ``fhirAppointmentTriggerService`` (type ``JOB``).
Group properties: ``fhir.base.url`` and optionally ``fhir.token.url`` (staff only,
allow-listed), ``fhir.client.id``, ``fhir.private.key`` (secure: a PEM RSA or EC P-384 key)
and optionally ``fhir.key.id`` and ``fhir.scopes``; per location ``fhir.location.id`` (the
Location resource id: the default match key) or ``fhir.location.name``; allow-lists
``fhir.appointment.status`` (default ``fulfilled``) and ``fhir.appointment.type`` (empty:
every type), group default with a location override.
"""

from __future__ import annotations

from collections.abc import Mapping

from frontdesk.clock import Clock
from frontdesk.connectors.base import Connector
from frontdesk.connectors.fhir import config as keys
from frontdesk.connectors.fhir.connector import FhirConnector
from frontdesk.connectors.fhir.keys import PRIVATE_KEY, private_key
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

NAME = "FHIR_R4"
SOURCE_ID = 33
TRIGGER_ID = 57

SPEC = SourceSpec(
    catalog=CatalogEntry(
        source_id=SOURCE_ID,
        name=NAME,
        display_name="FHIR R4 (SMART Backend Services)",
        integration_type="frontdesk",
        triggers=(
            TriggerSpec(
                trigger_id=TRIGGER_ID,
                name="fhirAppointmentTriggerService",
                display_name="FHIR Appointment Trigger",
                description="This trigger is used to fetch appointments from a FHIR R4 server "
                "based upon the date specified",
            ),
        ),
    ),
    properties=(
        PropertySpec(
            keys.BASE_URL,
            "url",
            http_url,
            "group",
            required=True,
            outbound="url",
            description="the FHIR R4 base URL (e.g. https://ehr.example/fhir/r4)",
        ),
        PropertySpec(
            keys.TOKEN_URL,
            "url",
            http_url,
            "group",
            outbound="url",
            description="the token URL (default: {base}/.well-known/smart-configuration)",
        ),
        PropertySpec(
            keys.CLIENT_ID,
            "text",
            text,
            "group",
            required=True,
            description="the client id the EHR registered for frontdesk",
        ),
        PropertySpec(
            PRIVATE_KEY,
            "private-key",
            private_key,
            "group",
            secure=True,
            max_length=8000,
            description="PEM RSA (RS384) or EC P-384 (ES384) private key; or generate one "
            "with `frontdesk integration fhir-key GROUP` and register its JWKS URL",
        ),
        PropertySpec(
            keys.KEY_ID,
            "text",
            text,
            "group",
            description="the key's kid (default: its RFC 7638 thumbprint)",
        ),
        PropertySpec(
            keys.SCOPES,
            "text",
            text,
            "group",
            description="token scopes (default: system/Appointment.read system/Patient.read "
            "system/Location.read)",
        ),
        PropertySpec(
            keys.STATUS,
            "allow-list",
            allow_list,
            "both",
            default="fulfilled",
            description="appointment statuses meaning the visit happened (default fulfilled; "
            "noshow, cancelled and entered-in-error never count)",
        ),
        PropertySpec(
            keys.TYPE,
            "allow-list",
            allow_list,
            "both",
            description="appointment/service type codes that may get a review request",
        ),
        PropertySpec(
            keys.LOCATION_ID,
            "text",
            text,
            "location",
            match_key=True,
            description="the Location resource id",
        ),
        PropertySpec(
            keys.LOCATION_NAME,
            "text",
            text,
            "location",
            match_key=True,
            description="the Location's name (when data.fetch.logic names this key)",
        ),
    ),
    match_key=keys.LOCATION_ID,
    status_key=keys.STATUS,
    type_key=keys.TYPE,
    credential_keys=(keys.CLIENT_ID, PRIVATE_KEY),
)


def _connector(
    properties: Mapping[str, str], settings: Settings, limits: ConcurrencyLimits, clock: Clock
) -> Connector:
    return FhirConnector.from_properties(properties, settings, limits=limits, clock=clock)


SOURCE = PluggedSource(spec=SPEC, factory=_connector)
"""The FHIR R4 source as the composition root registers it."""
