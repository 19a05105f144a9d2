"""The channels that ship with frontdesk, as the composition root registers them."""

from __future__ import annotations

from frontdesk.clock import Clock
from frontdesk.delivery.channel import ChannelPlugin
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.reach import Reach
from frontdesk.settings import Settings

EMAIL = "email"


def builtin_channels(settings: Settings, *, clock: Clock) -> list[ChannelPlugin]:
    """``email`` over SMTP (``sms`` and ``webhook`` register the same way)."""
    return [ChannelPlugin(EMAIL, Reach.EMAIL, lambda: EmailChannel(settings.smtp, clock=clock))]
