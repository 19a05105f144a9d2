"""The review channel protocol, its message and result types, errors and registry.

The review-request ledger calls a channel in three steps: *claim* the row, ``send`` the
message, *record* the outcome. A channel classifies every failure once, here at its boundary,
into the project's error tree (:mod:`frontdesk.errors`)::

    TransientError
    └── TransientDeliveryError       4xx answers, refused/lost connections, timeouts: retry
        └── DeferredDelivery         not now, at ``not_before`` (a sending window): pending
    FatalError
    └── PermanentDeliveryError       5xx answers for this message, unusable recipient: failed
    ConfigurationError
    └── DeliveryConfigurationError   our side is wrong (SMTP login refused, sender refused,
                                     TLS unavailable): a human must act; the request waits

Error text quotes codes, reasons and ledger keys, never the recipient or patient names.

The contract, for any channel (email today; SMS and webhooks plug in the same way):

- ``name`` and ``reaches`` (:class:`~frontdesk.delivery.reach.Reach`): how it reaches a
  patient — the decision step, opt-outs, the cap and the composer take the contact of that
  kind;
- ``message_id(ledger_key)``: the id the message will carry, assigned *before* the send and
  stored with the claim, so a request whose outcome is unknown after a crash can be looked up
  (the email ``Message-ID`` in the relay's log, a provider's id);
- ``send(message)``: deliver or raise a classified error;
- ``reconcile(ledger_key, message_id)``: after a crash, ask the remote side whether the
  message arrived — True / False, or None when the channel cannot tell (SMTP: the ledger
  parks the request with its Message-ID for an operator).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from frontdesk.connectors.spec import PropertySpec
from frontdesk.delivery.choice import ChannelChoice, TemplateRule
from frontdesk.delivery.reach import Reach
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
    reaches: Reach

    def message_id(self, ledger_key: str) -> str | None:
        """The id the message of ``ledger_key`` will carry (None: known only after sending)."""
        ...

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver ``message`` or raise a classified delivery error."""
        ...

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        """Whether the message reached the remote side; None: this channel cannot tell."""
        ...


class TransientDeliveryError(TransientError):
    """Worth retrying: the remote side said "later" or could not be reached."""

    code = "delivery_transient"

    def __init__(self, message: str, *, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code


class DeferredDelivery(TransientDeliveryError):
    """Not now: the message may go at ``not_before`` (a channel's sending window, e.g. the
    quiet hours of texts). The ledger keeps the request pending until then, without backoff;
    nothing was sent."""

    code = "scheduled"

    def __init__(self, message: str, *, not_before: datetime) -> None:
        super().__init__(message)
        self.not_before = not_before


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


class RecordingChannel:
    """A fake for tests: records what it is asked to send; ``fail_with`` scripts failures.

    ``fail_with`` is consumed one error per call (None in the list means "succeed this time").
    """

    def __init__(
        self,
        name: str = "email",
        *,
        reaches: Reach = Reach.EMAIL,
        fail_with: Iterable[Exception | None] = (),
    ) -> None:
        self.name = name
        self.reaches = reaches
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

    def message_id(self, ledger_key: str) -> str | None:
        return ledger_key

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        return any(m.ledger_key == ledger_key for m in self.sent)


ChannelFactory = Callable[[], ReviewChannel]


@dataclass(frozen=True)
class ChannelPlugin:
    """A channel as it registers: its name, how it reaches a patient, its factory, and what
    it owns: the property keys it reads per business (``properties``, like a source spec's)
    and what its templates must look like (``templates``)."""

    name: str
    reaches: Reach
    factory: ChannelFactory
    properties: tuple[PropertySpec, ...] = ()
    templates: TemplateRule | None = None
    """None: templates of the kind named by ``reaches``, with an unsubscribe link."""


class ChannelRegistry:
    """An explicit map from channel names (``email``, ``sms``, ``webhook``) to channels, and
    from choice names (``sms_then_email``) to the channels they resolve to.

    Built by the application from settings (:func:`frontdesk.delivery.registry.builtin_channels`)
    or by a test with fakes; channels are created on first use and then reused. A choice is
    offered (:meth:`names`) only while every channel it names is registered.
    """

    def __init__(self, plugins: Iterable[ChannelPlugin | ChannelChoice] = ()) -> None:
        self._plugins: dict[str, ChannelPlugin] = {}
        self._choices: dict[str, ChannelChoice] = {}
        self._channels: dict[str, ReviewChannel] = {}
        for plugin in plugins:
            if isinstance(plugin, ChannelChoice):
                self.register_choice(plugin)
            else:
                self.register(plugin)

    def register(self, plugin: ChannelPlugin) -> None:
        if plugin.name in self._plugins or plugin.name in self._choices:
            raise ValueError(f"channel {plugin.name!r} registered twice")
        self._plugins[plugin.name] = plugin

    def register_choice(self, choice: ChannelChoice) -> None:
        if choice.name in self._plugins or choice.name in self._choices:
            raise ValueError(f"channel {choice.name!r} registered twice")
        self._choices[choice.name] = choice

    def add(self, channel: ReviewChannel) -> None:
        """Register an already built channel (tests, fakes)."""
        self.register(ChannelPlugin(channel.name, channel.reaches, lambda: channel))

    def names(self) -> tuple[str, ...]:
        """What ``review.channel`` may name: the channels and the choices they complete."""
        offered = [c.name for c in self._choices.values() if self._complete(c)]
        return tuple(sorted([*self._plugins, *offered]))

    def channel_names(self) -> tuple[str, ...]:
        """The channels themselves (what a review request is sent by)."""
        return tuple(sorted(self._plugins))

    def choice(self, name: str) -> ChannelChoice:
        """What ``review.channel = name`` resolves to: a channel is a choice of itself
        (ConfigurationError: unknown, or a choice naming a channel not registered here)."""
        if name in self._plugins:
            return ChannelChoice(name, (name,))
        found = self._choices.get(name)
        if found is None or not self._complete(found):
            raise ConfigurationError(f"no delivery channel named {name!r}", field="channel")
        return found

    def reach(self, name: str) -> Reach:
        """How the channel called ``name`` reaches a patient (ConfigurationError: unknown)."""
        return self._plugin(name).reaches

    def template_rule(self, name: str) -> TemplateRule:
        """The template kind of channel ``name`` and what its templates must contain."""
        plugin = self._plugin(name)
        return plugin.templates or TemplateRule(kind=plugin.reaches.value)

    def template_rule_of_kind(self, kind: str) -> TemplateRule | None:
        """The rule of a registered channel whose templates are of ``kind`` (None: none)."""
        rules = (self.template_rule(name) for name in self._plugins)
        return next((rule for rule in rules if rule.kind == kind), None)

    def property_specs(self) -> tuple[PropertySpec, ...]:
        """The property keys the registered channels own (per business settings)."""
        return tuple(spec for p in self._plugins.values() for spec in p.properties)

    def _complete(self, choice: ChannelChoice) -> bool:
        return all(member in self._plugins for member in choice.members)

    def _plugin(self, name: str) -> ChannelPlugin:
        plugin = self._plugins.get(name)
        if plugin is None:
            raise ConfigurationError(f"no delivery channel named {name!r}", field="channel")
        return plugin

    def get(self, name: str) -> ReviewChannel:
        """The channel called ``name``; an unknown name is a configuration error."""
        if name not in self._channels:
            self._channels[name] = self._plugin(name).factory()
        return self._channels[name]

    async def aclose(self) -> None:
        """Close what the channels made so far hold open (the email channel's connections)."""
        for channel in list(self._channels.values()):
            close = getattr(channel, "aclose", None)
            if close is not None:
                await close()
