"""The channel protocol, the registry and the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.clock import ManualClock
from frontdesk.delivery.channel import (
    ChannelRegistry,
    RecordingChannel,
    ReviewChannel,
    TransientDeliveryError,
)
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.registry import build_channels
from frontdesk.errors import ConfigurationError
from frontdesk.settings import Settings


def test_every_implementation_satisfies_the_protocol(settings: Settings) -> None:
    for channel in (EmailChannel(settings.smtp), RecordingChannel()):
        assert isinstance(channel, ReviewChannel)


def test_the_registry_maps_names_from_settings(settings: Settings) -> None:
    registry = build_channels(settings, clock=ManualClock())
    assert registry.names() == ("email",)
    email = registry.get("email")
    assert isinstance(email, EmailChannel)
    assert email.supports_idempotency_check is False
    assert registry.get("email") is email
    with pytest.raises(ConfigurationError) as caught:
        registry.get("sms")
    assert caught.value.field == "channel"
    with pytest.raises(ValueError, match="twice"):
        registry.add("email", RecordingChannel)


async def test_smtp_cannot_say_whether_a_message_was_delivered(settings: Settings) -> None:
    assert await EmailChannel(settings.smtp).was_delivered("k") is None


async def test_the_recording_fake_scripts_failures_and_answers_was_delivered(
    make_message: Any,
) -> None:
    fake = RecordingChannel(fail_with=[TransientDeliveryError("later"), None])
    registry = ChannelRegistry({"email": lambda: fake})
    channel = registry.get("email")
    with pytest.raises(TransientDeliveryError):
        await channel.send(make_message(ledger_key="k1"))
    assert await channel.was_delivered("k1") is False
    result = await channel.send(make_message(ledger_key="k1"))
    assert result.ledger_key == "k1"
    assert await channel.was_delivered("k1") is True
    assert fake.attempts == 2
    assert [m.ledger_key for m in fake.sent] == ["k1"]


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
        {
            "email": lambda: Closing("email"),
            "sms": lambda: Closing("sms"),
            "fake": lambda: RecordingChannel("fake"),
        }
    )
    registry.get("email")
    registry.get("fake")
    await registry.aclose()
    assert closed == ["email"]  # "sms" was never made; the recording fake holds nothing
