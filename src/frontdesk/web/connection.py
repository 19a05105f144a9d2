""" "Test connection" and "Discover" for the dashboard: a connector built from properties.

Properties are the group's effective values (typed into the form, or decrypted from the
database for a saved group); they live only for the call. No transaction is open while the
EHR is called. A configuration problem found before any call (a missing key, an app-wide
setting not set) becomes a result naming the key, like the connector's own results.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from frontdesk.connectors.base import CheckResult, CheckStatus, Discovery
from frontdesk.errors import ConfigurationError, FrontdeskError
from frontdesk.plugins import Plugins
from frontdesk.settings import Settings

CHECK_LABELS = {
    CheckStatus.OK: "Connected",
    CheckStatus.UNAUTHORIZED: "Unauthorized",
    CheckStatus.UNREACHABLE: "Unreachable",
    CheckStatus.MISSING_PERMISSIONS: "Missing permissions",
    CheckStatus.ACTIVATION_PENDING: "Activation pending",
}


@dataclass(frozen=True)
class CheckView:
    """A :class:`CheckResult`, or the configuration error met before calling."""

    status: str  # ok, unauthorized, unreachable, missing_permissions, activation_pending,
    # not_configured
    label: str
    message: str
    result: CheckResult | None = None
    field: str | None = None


async def check_connection(
    settings: Settings, plugins: Plugins, *, source: str, properties: Mapping[str, str]
) -> CheckView:
    try:
        connector = plugins.connector(source, properties, settings)
    except ConfigurationError as error:
        return CheckView("not_configured", "Not configured", error.message, field=error.field)
    async with contextlib.aclosing(connector):
        result = await connector.check()
    return CheckView(result.status.value, CHECK_LABELS[result.status], result.message, result)


@dataclass(frozen=True)
class DiscoveryView:
    discovery: Discovery | None
    error: str | None = None


async def discover_values(
    settings: Settings,
    plugins: Plugins,
    *,
    source: str,
    properties: Mapping[str, str],
    today: date,
) -> DiscoveryView:
    """Statuses, types and locations seen in the last 30 days, or the reason there are none."""
    try:
        connector = plugins.connector(source, properties, settings)
    except ConfigurationError as error:
        return DiscoveryView(None, error.message)
    try:
        async with contextlib.aclosing(connector):
            return DiscoveryView(await connector.discover(today))
    except FrontdeskError as error:
        return DiscoveryView(None, f"discovery failed: {error.message}")
    except TimeoutError:
        return DiscoveryView(None, "discovery failed: the EHR did not answer in time")
