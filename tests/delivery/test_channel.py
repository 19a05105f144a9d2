"""The channel protocol, the registry and the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.clock import ManualClock
from frontdesk.connectors.spec import PropertySpec, text
from frontdesk.delivery.channel import (
    ChannelPlugin,
    ChannelRegistry,
    RecordingChannel,
    ReviewChannel,
    TransientDeliveryError,
)
from frontdesk.delivery.choice import ChannelChoice, TemplateRule
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.email_format import message_id_for
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.registry import builtin_channels
from frontdesk.errors import ConfigurationError
from frontdesk.settings import Settings


def test_every_implementation_satisfies_the_protocol(settings: Settings) -> None:
    for channel in (EmailChannel(settings.smtp), RecordingChannel()):
        assert isinstance(channel, ReviewChannel)


def test_the_registry_maps_names_from_settings(settings: Settings) -> None:
    registry = ChannelRegistry(builtin_channels(settings, clock=ManualClock()))
    assert registry.names() == ("email",)
    assert registry.reach("email") is Reach.EMAIL
    email = registry.get("email")
    assert isinstance(email, EmailChannel)
    assert email.name == "email"
    assert email.reaches is Reach.EMAIL
    assert registry.get("email") is email
    with pytest.raises(ConfigurationError) as caught:
        registry.get("sms")
    assert caught.value.field == "channel"
    with pytest.raises(ConfigurationError) as caught:
        registry.reach("sms")
    assert caught.value.field == "channel"
    with pytest.raises(ValueError, match="twice"):
        registry.add(RecordingChannel("email"))
    with pytest.raises(ValueError, match="twice"):
        registry.register(ChannelPlugin("email", Reach.EMAIL, RecordingChannel))


async def test_smtp_names_the_message_before_sending_but_cannot_reconcile(
    settings: Settings,
) -> None:
    smtp = settings.smtp.model_copy(update={"from_": "reviews@mail.frontdesk.example"})
    email = EmailChannel(smtp)
    message_id = email.message_id("k")
    assert message_id == message_id_for("k", domain="mail.frontdesk.example")
    assert email.message_id("k") == message_id != email.message_id("k2")
    assert await email.reconcile("k", message_id) is None


async def test_the_recording_fake_scripts_failures_and_reconciles(make_message: Any) -> None:
    fake = RecordingChannel(fail_with=[TransientDeliveryError("later"), None])
    registry = ChannelRegistry()
    registry.add(fake)
    channel = registry.get("email")
    assert channel is fake
    assert registry.reach("email") is Reach.EMAIL
    message_id = channel.message_id("k1")
    assert message_id is not None
    with pytest.raises(TransientDeliveryError):
        await channel.send(make_message(ledger_key="k1"))
    assert await channel.reconcile("k1", message_id) is False
    result = await channel.send(make_message(ledger_key="k1"))
    assert result.ledger_key == "k1"
    assert result.message_id == message_id
    assert await channel.reconcile("k1", message_id) is True
    assert fake.attempts == 2
    assert [m.ledger_key for m in fake.sent] == ["k1"]


def test_a_channel_declares_how_it_reaches_a_patient() -> None:
    registry = ChannelRegistry(
        [
            ChannelPlugin("email", Reach.EMAIL, RecordingChannel),
            ChannelPlugin(
                "sms", Reach.MOBILE, lambda: RecordingChannel("sms", reaches=Reach.MOBILE)
            ),
        ]
    )
    assert registry.names() == ("email", "sms")
    assert registry.reach("sms") is Reach.MOBILE
    sms = registry.get("sms")
    assert sms.name == "sms"
    assert sms.reaches is Reach.MOBILE


def test_an_outgoing_message_repr_hides_patient_data(make_message: Any, patient: Any) -> None:
    text = repr(make_message())
    assert patient.email not in text
    assert patient.first_name not in text
    assert "ledger_key" in text


async def test_closing_the_registry_closes_the_channels_it_made() -> None:
    closed: list[str] = []

    class Closing(RecordingChannel):
        async def aclose(self) -> None:
            closed.append(self.name)

    registry = ChannelRegistry(
        [
            ChannelPlugin("email", Reach.EMAIL, lambda: Closing("email")),
            ChannelPlugin("sms", Reach.MOBILE, lambda: Closing("sms", reaches=Reach.MOBILE)),
            ChannelPlugin("plain", Reach.EMAIL, lambda: RecordingChannel("plain")),
        ]
    )
    registry.get("email")
    registry.get("plain")
    await registry.aclose()
    assert closed == ["email"]  # "sms" was never made; the plain fake holds nothing


def test_a_channel_choice_is_offered_while_its_channels_are_registered() -> None:
    choices = [
        ChannelChoice("sms_then_email", ("sms", "email")),
        ChannelChoice("email_and_sms", ("email", "sms"), every=True),
    ]
    spec = PropertySpec("sms.sender", "phone", text, "group")
    registry = ChannelRegistry(
        [
            ChannelPlugin("email", Reach.EMAIL, RecordingChannel),
            ChannelPlugin(
                "sms",
                Reach.MOBILE,
                lambda: RecordingChannel("sms", reaches=Reach.MOBILE),
                properties=(spec,),
                templates=TemplateRule(kind="mobile", links=("review_url",), phrases=("STOP",)),
            ),
            *choices,
        ]
    )
    assert registry.names() == ("email", "email_and_sms", "sms", "sms_then_email")
    assert registry.channel_names() == ("email", "sms")
    assert registry.choice("sms_then_email") == choices[0]
    assert registry.choice("email") == ChannelChoice("email", ("email",))
    assert registry.property_specs() == (spec,)
    assert registry.template_rule("sms").kind == "mobile"
    assert registry.template_rule("email") == TemplateRule(kind="email")
    assert registry.template_rule_of_kind("mobile") is not None
    assert registry.template_rule_of_kind("webhook") is None
    with pytest.raises(ValueError, match="twice"):
        registry.register_choice(choices[0])
    with pytest.raises(ValueError, match="distinct"):
        ChannelChoice("twice", ("sms", "sms"))

    without_sms = ChannelRegistry([ChannelPlugin("email", Reach.EMAIL, RecordingChannel), *choices])
    assert without_sms.names() == ("email",)
    with pytest.raises(ConfigurationError):
        without_sms.choice("sms_then_email")
