"""The channels that ship with frontdesk, as the composition root registers them."""

from __future__ import annotations

from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.delivery.channel import ChannelPlugin
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.sms.channel import SmsChannel
from frontdesk.settings import Settings

EMAIL = "email"
SMS = "sms"


def builtin_channels(
    settings: Settings, *, clock: Clock, ctx: AppContext | None = None
) -> list[ChannelPlugin]:
    """``email`` over SMTP; ``sms`` through Twilio once ``FRONTDESK_TWILIO__ACCOUNT_SID`` is
    set (it needs the process's database: consent per sender, reconciliation)."""
    plugins = [ChannelPlugin(EMAIL, Reach.EMAIL, lambda: EmailChannel(settings.smtp, clock=clock))]
    if ctx is not None and settings.twilio.configured:
        plugins.append(ChannelPlugin(SMS, Reach.MOBILE, lambda: SmsChannel(ctx)))
    return plugins
