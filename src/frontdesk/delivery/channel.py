"""The review channel protocol, its message and result types, errors and registry.

The review-request ledger calls a channel in three steps: *claim* the row, ``send`` the
message, *record* the outcome. A channel classifies every failure once, here at its boundary,
into the project's error tree (:mod:`frontdesk.errors`)::

    TransientError
    └── TransientDeliveryError       4xx answers, refused/lost connections, timeouts: retry
    FatalError
    └── PermanentDeliveryError       5xx answers for this message, unusable recipient: failed
    ConfigurationError
    └── DeliveryConfigurationError   our side is wrong (SMTP login refused, sender refused,
                                     TLS unavailable): a human must act; the request waits

Error text quotes codes, reasons and ledger keys, never the recipient or patient names.

A request found ``sending`` after a crash is resolved with :meth:`ReviewChannel.was_delivered`
when ``supports_idempotency_check`` is true; SMTP has no such query, so the ledger parks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from frontdesk.errors import ConfigurationError, FatalError, TransientError

# Reasons a permanent failure carries (stable strings: the ledger stores them).
NO_USABLE_CONTACT = "no_usable_contact"
NO_REVIEW_LINK = "no_review_link"
RECIPIENT_REFUSED = "recipient_refused"
MESSAGE_REFUSED = "message_refused"
TEMPLATE_ERROR = "template_error"


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """The Jinja2 sources of one message; ``origin`` says where they came from."""

    subject: str | None
    text: str
    html: str | None
    origin: str = "default"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One review request, ready for a channel.

    ``ledger_key`` is the unique key of the ledger row; channels derive their idempotency
    values (the email ``Message-ID``) from it. ``recipient`` is an email address or a phone
    number depending on the channel. ``repr`` hides the patient data.
    """

    ledger_key: str
    recipient: str = field(repr=False)
    patient_first_name: str = field(repr=False)
    location_name: str
    review_url: str
    sender_name: str
    templates: TemplateSet = field(repr=False)
    unsubscribe_url: str = field(repr=False)
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a channel reports after the remote side accepted the message."""

    channel: str
    ledger_key: str
    message_id: str
    detail: str = ""


@runtime_checkable
class ReviewChannel(Protocol):
    """A way to deliver review requests (email, SMS, webhook)."""

    name: str
    supports_idempotency_check: bool

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver ``message`` or raise a classified delivery error."""
        ...

    async def was_delivered(self, ledger_key: str) -> bool | None:
        """Whether the message of ``ledger_key`` reached the remote side; None: unknowable."""
        ...


class TransientDeliveryError(TransientError):
    """Worth retrying: the remote side said "later" or could not be reached."""

    code = "delivery_transient"

    def __init__(self, message: str, *, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code


class PermanentDeliveryError(FatalError):
    """This message will never be delivered as it is: the request is marked failed."""

    code = "delivery_failed"

    def __init__(self, message: str, *, reason: str, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.smtp_code = smtp_code


class DeliveryConfigurationError(ConfigurationError):
    """The channel's own configuration is refused; no request is to blame."""

    code = "delivery_configuration"


class NullChannel:
    """Accepts everything and delivers nothing (dry runs, disabled channels)."""

    supports_idempotency_check = True

    def __init__(self, name: str = "null") -> None:
        self.name = name

    async def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult(channel=self.name, ledger_key=message.ledger_key, message_id="")

    async def was_delivered(self, ledger_key: str) -> bool | None:
        return False


class RecordingChannel:
    """A fake for tests: records what it is asked to send; ``fail_with`` scripts failures.

    ``fail_with`` is consumed one error per call (None in the list means "succeed this time").
    """

    supports_idempotency_check = True

    def __init__(self, name: str = "email", *, fail_with: Iterable[Exception | None] = ()) -> None:
        self.name = name
        self.sent: list[OutgoingMessage] = []
        self.attempts = 0
        self._failures = list(fail_with)

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.attempts += 1
        if self._failures:
            error = self._failures.pop(0)
            if error is not None:
                raise error
        self.sent.append(message)
        return SendResult(
            channel=self.name, ledger_key=message.ledger_key, message_id=message.ledger_key
        )

    async def was_delivered(self, ledger_key: str) -> bool | None:
        return any(m.ledger_key == ledger_key for m in self.sent)


ChannelFactory = Callable[[], ReviewChannel]


class ChannelRegistry:
    """An explicit map from channel names (``email``, later ``sms``, ``webhook``) to channels.

    Built by the application from settings (:func:`frontdesk.delivery.registry.build_channels`)
    or by a test with fakes; channels are created on first use and then reused.
    """

    def __init__(self, factories: dict[str, ChannelFactory] | None = None) -> None:
        self._factories: dict[str, ChannelFactory] = dict(factories or {})
        self._channels: dict[str, ReviewChannel] = {}

    def add(self, name: str, factory: ChannelFactory) -> None:
        if name in self._factories:
            raise ValueError(f"channel {name!r} registered twice")
        self._factories[name] = factory

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._factories))

    def get(self, name: str) -> ReviewChannel:
        """The channel called ``name``; an unknown name is a configuration error."""
        if name not in self._channels:
            factory = self._factories.get(name)
            if factory is None:
                raise ConfigurationError("no delivery channel of that name", field="channel")
            self._channels[name] = factory()
        return self._channels[name]

    async def aclose(self) -> None:
        """Close what the channels made so far hold open (the email channel's connections)."""
        for channel in list(self._channels.values()):
            close = getattr(channel, "aclose", None)
            if close is not None:
                await close()
