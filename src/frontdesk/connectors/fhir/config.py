"""One FHIR group's configuration, from its (decrypted, effective) properties and settings.

Missing or unusable values raise :class:`~frontdesk.errors.ConfigurationError` naming the
property key, never its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from frontdesk.connectors.fhir.keys import PRIVATE_KEY, SigningKey, load_signing_key
from frontdesk.connectors.spec import http_url
from frontdesk.errors import ConfigurationError
from frontdesk.settings import Settings

BASE_URL = "fhir.base.url"
TOKEN_URL = "fhir.token.url"  # noqa: S105 (a property key)
CLIENT_ID = "fhir.client.id"
KEY_ID = "fhir.key.id"
SCOPES = "fhir.scopes"
STATUS = "fhir.appointment.status"
TYPE = "fhir.appointment.type"
LOCATION_ID = "fhir.location.id"
LOCATION_NAME = "fhir.location.name"
DATA_FETCH_LOGIC = "data.fetch.logic"  # the core's key naming the group's match key


@dataclass(frozen=True)
class FhirGroupConfig:
    """Everything the client needs for one group. The key never shows in ``repr``."""

    base_url: str
    token_url: str | None
    client_id: str
    signing_key: SigningKey = field(repr=False)
    scopes: str
    location_by: Literal["id", "name"] = "id"
    """Which Location value becomes ``Appointment.location_name`` (the group's match key)."""
    page_size: int = 100
    patient_batch: int = 50
    timeout_s: float = 30.0
    refresh_margin_s: float = 60.0

    @classmethod
    def from_properties(cls, properties: Mapping[str, str], settings: Settings) -> FhirGroupConfig:
        for key in (BASE_URL, CLIENT_ID, PRIVATE_KEY):
            if not (properties.get(key) or "").strip():
                raise ConfigurationError(f"the group property {key} is missing", field=key)
        try:
            signing = load_signing_key(properties[PRIVATE_KEY], properties.get(KEY_ID) or None)
        except ValueError as error:
            raise ConfigurationError(f"{PRIVATE_KEY} {error}", field=PRIVATE_KEY) from None
        token_url = (properties.get(TOKEN_URL) or "").strip() or None
        fhir = settings.fhir
        return cls(
            base_url=_url(properties[BASE_URL], BASE_URL).rstrip("/"),
            token_url=_url(token_url, TOKEN_URL) if token_url else None,
            client_id=properties[CLIENT_ID].strip(),
            signing_key=signing,
            scopes=" ".join((properties.get(SCOPES) or fhir.scopes).split()),
            location_by="name" if properties.get(DATA_FETCH_LOGIC) == LOCATION_NAME else "id",
            page_size=fhir.page_size,
            patient_batch=fhir.patient_batch,
            timeout_s=fhir.timeout_s,
            refresh_margin_s=fhir.token_refresh_margin_s,
        )


def _url(value: str, key: str) -> str:
    try:
        return http_url(value)
    except ValueError as error:
        raise ConfigurationError(f"{key} {error}", field=key) from None
