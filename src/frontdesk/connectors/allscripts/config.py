"""One integration group's Unity configuration, from its properties and the app settings.

App-wide (our registered application, ``FRONTDESK_UNITY__*``): the JSON base URL, the
Appname, the service username and password. Per group (integration properties):

- ``User_Name`` — the ServiceUser ``ubiquity_id:client_id^tenant_id^``; GetToken's
  ``Username`` is this glued to the service username, no separator (reference §1.3, §5);
  the client id (between ``:`` and ``^``) goes to GetUserAuthentication ``Parameter2``.
- ``pms_user_name`` — the PM user, ``AppUserID`` on every Magic call.
- ``PM_Password`` — that user's password, GetUserAuthentication ``Parameter1``.
- ``allscripts.unity.url`` (optional) — this group's JSON base URL instead of the app-wide
  one (e.g. an on-premise PM server ``https://host/UnityPM/UnityService.svc/json``).

Missing or unusable values raise :class:`~frontdesk.errors.ConfigurationError` naming the
property key or setting, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from frontdesk.errors import ConfigurationError
from frontdesk.settings import Settings

SERVICE_USER = "User_Name"
PM_PASSWORD = "PM_Password"  # noqa: S105 - the property key
PM_USER = "pms_user_name"
UNITY_URL = "allscripts.unity.url"
REQUIRED_PROPERTIES = (SERVICE_USER, PM_USER, PM_PASSWORD)

_SERVICE_USER_SHAPE = re.compile(r"^(?P<ubiquity_id>[^:^\s]+):(?P<client_id>[^:^\s]*)(\^\d+\^)?$")


@dataclass(frozen=True)
class UnityGroupConfig:
    """Everything the client needs for one group. Secrets never show in ``repr``."""

    base_url: str
    appname: str
    token_username: str = field(repr=False)
    service_password: str = field(repr=False)
    pm_user: str
    pm_password: str = field(repr=False)
    client_id: str
    service_user: str = field(repr=False)
    timeout_s: float = 30.0

    @classmethod
    def from_properties(cls, properties: Mapping[str, str], settings: Settings) -> UnityGroupConfig:
        """Validate the group's effective (decrypted) properties against the settings."""
        for key in REQUIRED_PROPERTIES:
            if not (properties.get(key) or "").strip():
                raise ConfigurationError(f"the group property {key} is missing", field=key)
        service_user = properties[SERVICE_USER].strip()
        match = _SERVICE_USER_SHAPE.match(service_user)
        if match is None:
            raise ConfigurationError(
                f"the group property {SERVICE_USER} must look like ubiquity_id:client_id^tenant^",
                field=SERVICE_USER,
            )
        unity = settings.unity
        password = unity.service_password.get_secret_value()
        if not password:
            raise ConfigurationError(
                "the setting FRONTDESK_UNITY__SERVICE_PASSWORD is not set",
                field="unity.service_password",
            )
        if not unity.service_username.strip():
            raise ConfigurationError(
                "the setting FRONTDESK_UNITY__SERVICE_USERNAME is not set",
                field="unity.service_username",
            )
        override = (properties.get(UNITY_URL) or "").strip()
        base_url = json_base_url(override, UNITY_URL) if override else None
        return cls(
            base_url=base_url or json_base_url(unity.url, "unity.url"),
            appname=unity.appname,
            token_username=service_user + unity.service_username.strip(),
            service_password=password,
            pm_user=properties[PM_USER].strip(),
            pm_password=properties[PM_PASSWORD],
            client_id=match["client_id"],
            service_user=service_user,
            timeout_s=unity.timeout_s,
        )


def json_base_url(url: str, key: str) -> str:
    """The JSON base without a trailing slash; a URL ending in ``.svc`` gets ``/json``."""
    value = url.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{key} must be an absolute http(s) URL", field=key)
    lowered = parts.path.lower()
    if lowered.endswith(".svc"):
        return value + "/json"
    if not lowered.endswith("/json"):
        raise ConfigurationError(f"{key} must be the Unity JSON base ending in /json", field=key)
    return value
