"""Delivery fixtures: real SMTP servers on loopback (aiosmtpd), messages, businesses."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import add_business
from frontdesk.context import AppContext
from frontdesk.delivery.capture import LoopbackController
from frontdesk.delivery.channel import OutgoingMessage, TemplateSet
from frontdesk.delivery.templates import default_template_set

PATIENT_EMAIL = "Zoe.Patient@Example.ORG"
PATIENT_FIRST_NAME = "Zoëlle"
ENTERPRISE = 149547879572938
LOCATION_A = 149547899859217
LOCATION_B = 149547899859218
OTHER_SMB = 149547800000001


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps what it accepts; replies can be scripted per command."""

    mail_reply: str | None = None
    rcpt_reply: str | None = None
    data_reply: str | None = None
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    mail_options: list[list[str]] = field(default_factory=list)
    """The MAIL parameters (e.g. ``SIZE=...``) of each message in ``received``."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(
        self, _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            self.mail_options.append(list(envelope.mail_options))
        return "250 2.0.0 queued as 1234"


SmtpServerFactory = Callable[[Any], int]


@pytest.fixture
def sink_factory() -> Callable[..., SmtpSink]:
    """A new :class:`SmtpSink`, optionally with scripted replies."""
    return SmtpSink


@pytest.fixture
def smtp_server() -> Iterator[SmtpServerFactory]:
    """Start aiosmtpd with a handler on an ephemeral loopback port; returns the port."""
    controllers: list[LoopbackController] = []

    def start(handler: Any) -> int:
        controller = LoopbackController(handler)
        controller.start()
        controllers.append(controller)
        port: int = controller.port
        return port

    yield start
    for controller in controllers:
        controller.stop()


@dataclass(frozen=True)
class Patient:
    email: str = PATIENT_EMAIL
    first_name: str = PATIENT_FIRST_NAME


@pytest.fixture
def patient() -> Patient:
    """The patient data every test checks never leaks into logs or errors."""
    return Patient()


MakeMessage = Callable[..., OutgoingMessage]


@pytest.fixture
def make_message() -> MakeMessage:
    """Build an :class:`OutgoingMessage` for the test patient, with overrides."""
    return _make_message


@pytest.fixture
def custom_templates() -> Callable[..., TemplateSet]:
    """A small valid template set, with overrides."""
    return _custom_templates


def _make_message(**overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "ledger_key": "loc:7|src:32|appt:A-1001|trig:56|ch:email",
        "recipient": PATIENT_EMAIL,
        "patient_first_name": PATIENT_FIRST_NAME,
        "location_name": "Riverside Family Medicine - Loudoun Office",
        "review_url": "https://g.page/r/riverside-loudoun/review?x=1&y=2",
        "sender_name": "Riverside Family Medicine",
        "templates": default_template_set("email"),
        "unsubscribe_url": "http://frontdesk.test/unsubscribe/abc.def",
        "reply_to": "front.desk@riverside.example.com",
    }
    values.update(overrides)
    return OutgoingMessage(**values)


def _custom_templates(**overrides: str | None) -> TemplateSet:
    values: dict[str, Any] = {
        "subject": "Review {{ location_name }}",
        "text": "Hi {{ first_name }}: {{ review_url }} / stop: {{ unsubscribe_url }}",
        "html": '<p>Hi {{ first_name }}</p><a href="{{ review_url }}">review</a>'
        '<a href="{{ unsubscribe_url }}">stop</a>',
    }
    values.update(overrides)
    return TemplateSet(**values)


@dataclass
class Practice:
    enterprise: Business
    location_a: Business
    location_b: Business
    smb: Business


@pytest.fixture
async def practice(ctx: AppContext) -> Practice:
    """An enterprise with two locations, and an unrelated SMB."""
    system = Principal.system("test")
    async with ctx.db.transaction() as session:
        created = {}
        for number, name, parent in (
            (ENTERPRISE, "Riverside Family Medicine", None),
            (LOCATION_A, "Riverside - Loudoun Office", ENTERPRISE),
            (LOCATION_B, "Riverside - Fairfax Office", ENTERPRISE),
            (OTHER_SMB, "Lakeside Pediatrics", None),
        ):
            created[number] = await add_business(
                session,
                principal=system,
                clock=ctx.clock,
                number=number,
                name=name,
                enterprise_number=parent,
            )
    return Practice(
        enterprise=created[ENTERPRISE],
        location_a=created[LOCATION_A],
        location_b=created[LOCATION_B],
        smb=created[OTHER_SMB],
    )
