"""The explicit registry: integration source name → connector factory.

The sync engine builds a connector for one integration group with::

    limits = ConcurrencyLimits.from_settings(settings)      # once per process
    connector = create_connector("ALLSCRIPTS", properties, settings, limits=limits)
    async with contextlib.aclosing(connector): ...          # or: finally: await connector.aclose()

``properties`` are the group's decrypted, effective properties (for Allscripts ``User_Name``,
``PM_Password``, ``pms_user_name`` and optionally ``allscripts.unity.url``). Missing required
properties raise :class:`~frontdesk.errors.ConfigurationError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from frontdesk.clock import Clock
from frontdesk.connectors.allscripts.client import Transport
from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import Connector
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.errors import ConfigurationError
from frontdesk.settings import Settings


class ConnectorFactory(Protocol):
    """Builds a connector for one integration group."""

    def __call__(
        self,
        properties: Mapping[str, str],
        settings: Settings,
        *,
        transport: Transport | None = None,
        limits: ConcurrencyLimits | None = None,
        clock: Clock | None = None,
    ) -> Connector: ...


def _allscripts(
    properties: Mapping[str, str],
    settings: Settings,
    *,
    transport: Transport | None = None,
    limits: ConcurrencyLimits | None = None,
    clock: Clock | None = None,
) -> Connector:
    return UnityConnector.from_properties(
        properties, settings, transport=transport, limits=limits, clock=clock
    )


CONNECTORS: Mapping[str, ConnectorFactory] = {"ALLSCRIPTS": _allscripts}
"""Integration source name (``integration_source.name``) → factory."""


def create_connector(
    source: str,
    properties: Mapping[str, str],
    settings: Settings,
    *,
    transport: Transport | None = None,
    limits: ConcurrencyLimits | None = None,
    clock: Clock | None = None,
) -> Connector:
    """The connector of ``source`` for a group; ConfigurationError for an unknown source."""
    factory = CONNECTORS.get(source.upper())
    if factory is None:
        raise ConfigurationError(f"no connector for the integration source {source}")
    return factory(properties, settings, transport=transport, limits=limits, clock=clock)
