"""The channels that ship with frontdesk, as the composition root registers them."""

from __future__ import annotations

from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.delivery.channel import ChannelPlugin
from frontdesk.delivery.choice import ChannelChoice
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.sms.channel import SmsChannel
from frontdesk.delivery.sms.properties import SMS_PROPERTIES, SMS_TEMPLATES
from frontdesk.delivery.tracking.minting import TrackedLinks
from frontdesk.delivery.webhook.channel import WebhookChannel
from frontdesk.settings import Settings

EMAIL = "email"
SMS = "sms"
WEBHOOK = "webhook"


def builtin_channels(
    settings: Settings, *, clock: Clock, ctx: AppContext | None = None
) -> list[ChannelPlugin | ChannelChoice]:
    """``email`` over SMTP; ``webhook`` to each business's endpoint; ``sms`` through Twilio
    once ``FRONTDESK_TWILIO__ACCOUNT_SID`` is set, and with it the choices
    ``sms_then_email`` (a text, else an email) and ``email_and_sms`` (both). The last
    channels need the process (``ctx``): endpoints and consent live in its database, and so
    do the tracked links (``/r/{token}``) that texts and emails carry — one
    :class:`TrackedLinks` shared by both. Without ``ctx`` an email links the review page
    directly."""
    shared: list[TrackedLinks] = []

    def links() -> TrackedLinks | None:
        if ctx is None:
            return None
        if not shared:
            shared.append(TrackedLinks(ctx))
        return shared[0]

    def email() -> EmailChannel:
        return EmailChannel(settings.smtp, clock=clock, links=links())

    plugins: list[ChannelPlugin | ChannelChoice] = [
        ChannelPlugin(EMAIL, Reach.EMAIL, email),
        ChannelChoice("sms_then_email", (SMS, EMAIL)),
        ChannelChoice("email_and_sms", (EMAIL, SMS), every=True),
    ]
    if ctx is not None:
        plugins.append(ChannelPlugin(WEBHOOK, Reach.WEBHOOK, lambda: WebhookChannel(ctx)))
        if settings.twilio.configured:
            plugins.append(
                ChannelPlugin(
                    SMS,
                    Reach.MOBILE,
                    lambda: SmsChannel(ctx, links=links()),
                    properties=SMS_PROPERTIES,
                    templates=SMS_TEMPLATES,
                )
            )
    return plugins
