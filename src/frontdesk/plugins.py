"""What features plug into a process: integration sources and review channels.

The composition root (:mod:`frontdesk.composition`) builds one :class:`Plugins` per process
from the built-in sources and channels (or from a test's own); everything that needs to know
which sources and channels exist receives it as a typed argument: the integration API's
validation and the wizard (property keys, match keys, allowed channels), the sync engine
(connectors, allow-list keys), the review sender (channels), the credential checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from frontdesk.clock import Clock, SystemClock
from frontdesk.connectors.base import Connector
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.connectors.spec import Source, SourceRegistry, SourceSpec
from frontdesk.delivery.channel import ChannelPlugin, ChannelRegistry
from frontdesk.delivery.choice import ChannelChoice
from frontdesk.settings import Settings

ConnectorBuilder = Callable[[str, Mapping[str, str], Settings], Connector]
"""``(source name, group properties, settings) → connector``: what the sync engine and the
credential checks call (:meth:`Plugins.connector` by default; tests pass faster ones)."""


@dataclass
class Plugins:
    """The sources and channels of one process."""

    sources: SourceRegistry = field(default_factory=SourceRegistry)
    channels: ChannelRegistry = field(default_factory=ChannelRegistry)
    clock: Clock = field(default_factory=SystemClock)
    """The process's clock, handed to the connectors (credential-expiry warnings)."""

    def spec(self, source: str) -> SourceSpec | None:
        """The spec of the source called ``source`` (None: not registered here)."""
        return self.sources.spec(source)

    def connector(
        self,
        source: str,
        properties: Mapping[str, str],
        settings: Settings,
        limits: ConcurrencyLimits | None = None,
    ) -> Connector:
        """The connector of a group of ``source`` (ConfigurationError: not registered)."""
        limits = limits or ConcurrencyLimits.from_settings(settings)
        return self.sources.get(source).connector(properties, settings, limits, self.clock)

    @classmethod
    def of(
        cls,
        sources: Iterable[Source],
        channels: Iterable[ChannelPlugin | ChannelChoice],
        *,
        clock: Clock | None = None,
    ) -> Plugins:
        return cls(
            sources=SourceRegistry(sources),
            channels=ChannelRegistry(channels),
            clock=clock or SystemClock(),
        )
