"""The channels that ship with frontdesk, as the composition root registers them."""

from __future__ import annotations

from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.delivery.channel import ChannelPlugin
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.sms.channel import SmsChannel
from frontdesk.delivery.webhook.channel import WebhookChannel
from frontdesk.settings import Settings

EMAIL = "email"
SMS = "sms"
WEBHOOK = "webhook"


def builtin_channels(
    settings: Settings, *, clock: Clock, ctx: AppContext | None = None
) -> list[ChannelPlugin]:
    """``email`` over SMTP; ``webhook`` to each business's endpoint; ``sms`` through Twilio
    once ``FRONTDESK_TWILIO__ACCOUNT_SID`` is set. The last two need the process (``ctx``):
    endpoints and consent live in its database."""
    plugins = [ChannelPlugin(EMAIL, Reach.EMAIL, lambda: EmailChannel(settings.smtp, clock=clock))]
    if ctx is not None:
        plugins.append(ChannelPlugin(WEBHOOK, Reach.WEBHOOK, lambda: WebhookChannel(ctx)))
        if settings.twilio.configured:
            plugins.append(ChannelPlugin(SMS, Reach.MOBILE, lambda: SmsChannel(ctx)))
    return plugins
