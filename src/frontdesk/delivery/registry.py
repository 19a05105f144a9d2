"""Which channel implementation serves which channel name, decided once from settings."""

from __future__ import annotations

from frontdesk.clock import Clock
from frontdesk.delivery.channel import ChannelRegistry
from frontdesk.delivery.email import EmailChannel
from frontdesk.settings import Settings

EMAIL = "email"


def build_channels(settings: Settings, *, clock: Clock) -> ChannelRegistry:
    """The application's channels: ``email`` over SMTP (``sms``, ``webhook`` come later)."""
    registry = ChannelRegistry()
    registry.add(EMAIL, lambda: EmailChannel(settings.smtp, clock=clock))
    return registry
