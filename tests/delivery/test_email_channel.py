"""The email channel against real SMTP servers (aiosmtpd on loopback)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from frontdesk.clock import ManualClock
from frontdesk.delivery.channel import (
    MESSAGE_REFUSED,
    NO_REVIEW_LINK,
    NO_USABLE_CONTACT,
    RECIPIENT_REFUSED,
    DeliveryConfigurationError,
    OutgoingMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.email_format import message_id_for
from frontdesk.errors import FatalError, FrontdeskError, TransientError
from frontdesk.logs import configure_logging
from frontdesk.settings import Settings, SmtpSettings

MakeMessage = Callable[..., OutgoingMessage]
FROM = "reviews@mail.frontdesk.example"


_OPEN: list[EmailChannel] = []


@pytest.fixture(autouse=True)
async def _close_channels() -> AsyncIterator[None]:
    """Channels pool their connections: close every channel a test made."""
    yield
    while _OPEN:
        await _OPEN.pop().aclose()


def channel(port: int, **kwargs: Any) -> EmailChannel:
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=port,
        starttls=False,
        from_=FROM,
        pool_size=kwargs.pop("pool_size", 4),
    )
    made = EmailChannel(
        smtp,
        clock=ManualClock(),
        timeout_s=kwargs.pop("timeout_s", 5.0),
        idle_close_s=kwargs.pop("idle_close_s", 30.0),
    )
    _OPEN.append(made)
    return made


def parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


async def test_a_review_request_arrives_with_its_headers_and_both_parts(
    smtp_server: Any, sink_factory: Any, make_message: MakeMessage, patient: Any
) -> None:
    sink = sink_factory()
    port = smtp_server(sink)
    message = make_message()

    result = await channel(port).send(message)

    assert len(sink.received) == 1
    mail_from, rcpt_tos, data = sink.received[0]
    assert mail_from == FROM
    assert rcpt_tos == ["Zoe.Patient@example.org"]  # the domain is normalised, the local part kept
    email = parse(data)
    assert email["From"].addresses[0].display_name == "Riverside Family Medicine"
    assert email["From"].addresses[0].addr_spec == FROM
    assert str(email["Reply-To"]) == "Riverside Family Medicine <front.desk@riverside.example.com>"
    assert str(email["To"]) == "Zoe.Patient@example.org"
    assert email["Subject"] == "How was your visit to Riverside Family Medicine - Loudoun Office?"
    assert email["Message-ID"] == message_id_for(
        message.ledger_key, domain="mail.frontdesk.example"
    )
    assert result.message_id == email["Message-ID"]
    assert result.detail == "2.0.0 queued as 1234"
    assert email["List-Unsubscribe"] == "<http://frontdesk.test/unsubscribe/abc.def>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["Date"] is not None
    assert email.get_content_type() == "multipart/alternative"

    text, html = parts(email)
    assert f"Hi {patient.first_name}," in text
    assert "Riverside Family Medicine - Loudoun Office" in text
    assert "https://g.page/r/riverside-loudoun/review?x=1&y=2" in text
    assert "http://frontdesk.test/unsubscribe/abc.def" in text
    assert f"Hi {patient.first_name}," in html
    assert 'href="https://g.page/r/riverside-loudoun/review?x=1&amp;y=2"' in html
    assert 'href="http://frontdesk.test/unsubscribe/abc.def"' in html


async def test_the_transaction_declares_the_exact_size_of_the_message(
    smtp_server: Any, sink_factory: Any, make_message: MakeMessage
) -> None:
    sink = sink_factory()
    port = smtp_server(sink)
    email = channel(port)
    await email.send(make_message(ledger_key="k-1"))
    await email.send(make_message(ledger_key="k-2"))  # the same session: MAIL again
    assert len(sink.received) == 2
    for (_sender, _rcpts, data), options in zip(sink.received, sink.mail_options, strict=True):
        assert options == [f"SIZE={len(data)}"]  # aiosmtpd offers SIZE (RFC 1870)
    assert email.connections_opened == 1


async def test_message_id_is_derived_from_the_ledger_key_only(
    smtp_server: Any, sink_factory: Any, make_message: MakeMessage
) -> None:
    sink = sink_factory()
    port = smtp_server(sink)
    first = await channel(port).send(make_message(ledger_key="k-1"))
    again = await channel(port).send(make_message(ledger_key="k-1", patient_first_name="Other"))
    other = await channel(port).send(make_message(ledger_key="k-2"))
    assert first.message_id == again.message_id != other.message_id
    assert first.message_id == message_id_for("k-1", domain="mail.frontdesk.example")
    assert len(first.message_id) == len("<@mail.frontdesk.example>") + 32


async def test_long_unsubscribe_urls_are_not_folded_or_encoded(
    smtp_server: Any, sink_factory: Any, make_message: MakeMessage
) -> None:
    sink = sink_factory()
    port = smtp_server(sink)
    url = "https://frontdesk.example.org/unsubscribe/" + "A" * 300 + "." + "B" * 43
    await channel(port).send(make_message(unsubscribe_url=url))
    data = sink.received[0][2]
    assert f"List-Unsubscribe: <{url}>".encode() in data
    assert b"=?utf-8?" not in data.split(b"\r\n\r\n", 1)[0].split(b"List-Unsubscribe:")[1]


async def test_html_part_escapes_patient_data_and_text_part_keeps_it(
    smtp_server: Any, sink_factory: Any, make_message: MakeMessage
) -> None:
    sink = sink_factory()
    port = smtp_server(sink)
    await channel(port).send(
        make_message(patient_first_name='<b>Ann</b> & "Co"', location_name="Smith & Sons <Clinic>")
    )
    text, html = parts(parse(sink.received[0][2]))
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; &#34;Co&#34;" in html
    assert "Smith &amp; Sons &lt;Clinic&gt;" in html
    assert "<b>Ann</b>" not in html
    assert 'Hi <b>Ann</b> & "Co",' in text


async def test_without_a_first_name_the_greeting_is_neutral(
    smtp_server: Any, sink_factory: Any, make_message: MakeMessage
) -> None:
    sink = sink_factory()
    port = smtp_server(sink)
    await channel(port).send(make_message(patient_first_name="   "))
    text, html = parts(parse(sink.received[0][2]))
    assert text.startswith("Hello,")
    assert "<p>Hello,</p>" in html


@pytest.mark.parametrize(
    ("replies", "error_type", "reason", "smtp_code"),
    [
        pytest.param(
            {"rcpt_reply": "550 5.1.1 <zoe> mailbox unavailable"},
            PermanentDeliveryError,
            RECIPIENT_REFUSED,
            550,
            id="rcpt-550",
        ),
        pytest.param(
            {"rcpt_reply": "553 5.1.3 bad address"},
            PermanentDeliveryError,
            RECIPIENT_REFUSED,
            553,
            id="rcpt-553",
        ),
        pytest.param(
            {"data_reply": "554 5.7.1 rejected as spam"},
            PermanentDeliveryError,
            MESSAGE_REFUSED,
            554,
            id="data-554",
        ),
        pytest.param(
            {"rcpt_reply": "451 4.7.1 greylisted, try later"},
            TransientDeliveryError,
            None,
            451,
            id="rcpt-451",
        ),
        pytest.param(
            {"data_reply": "452 4.3.1 insufficient storage"},
            TransientDeliveryError,
            None,
            452,
            id="data-452",
        ),
        pytest.param(
            {"mail_reply": "421 4.3.2 shutting down"},
            TransientDeliveryError,
            None,
            421,
            id="mail-421",
        ),
        pytest.param(
            {"mail_reply": "550 5.7.1 sender not allowed"},
            DeliveryConfigurationError,
            None,
            None,
            id="mail-550",
        ),
    ],
)
async def test_smtp_refusals_are_classified(
    smtp_server: Any,
    sink_factory: Any,
    make_message: MakeMessage,
    patient: Any,
    replies: dict[str, str],
    error_type: type[FrontdeskError],
    reason: str | None,
    smtp_code: int | None,
) -> None:
    sink = sink_factory(**replies)
    port = smtp_server(sink)
    with pytest.raises(error_type) as caught:
        await channel(port).send(make_message())
    error = caught.value
    if reason is not None:
        assert isinstance(error, PermanentDeliveryError)
        assert isinstance(error, FatalError)
        assert error.reason == reason
    if error_type is TransientDeliveryError:
        assert isinstance(error, TransientError)
    if smtp_code is not None:
        assert getattr(error, "smtp_code", None) == smtp_code
    _assert_no_patient_data(str(error), patient)
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert sink.received == []


async def test_connection_refused_is_transient(make_message: MakeMessage, patient: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientDeliveryError) as caught:
        await channel(port).send(make_message())
    _assert_no_patient_data(str(caught.value), patient)


async def test_a_silent_server_times_out_as_transient(make_message: MakeMessage) -> None:
    writers: list[asyncio.StreamWriter] = []

    async def never_greet(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TransientDeliveryError, match="timed out"):
            await channel(port, timeout_s=0.3).send(make_message())
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("recipient", "problem"),
    [
        pytest.param("", "missing", id="empty"),
        pytest.param("not-an-address", "malformed", id="no-at"),
        pytest.param("Zoe <zoe@example.org>", "malformed", id="display-name"),
        pytest.param("zoe@localhost", "bad_domain", id="single-label-domain"),
    ],
)
async def test_unusable_recipient_is_a_permanent_no_usable_contact_and_nothing_is_sent(
    smtp_server: Any,
    sink_factory: Any,
    make_message: MakeMessage,
    recipient: str,
    problem: str,
) -> None:
    sink = sink_factory()
    port = smtp_server(sink)
    with pytest.raises(PermanentDeliveryError) as caught:
        await channel(port).send(make_message(recipient=recipient))
    assert caught.value.reason == NO_USABLE_CONTACT
    assert problem in caught.value.message
    if recipient:
        assert recipient not in caught.value.message
    assert sink.received == []


@pytest.mark.parametrize(
    "review_url", ["", "javascript:alert(1)", "ftp://x.example/r", "/relative"]
)
async def test_a_location_without_a_usable_review_link_is_refused(
    make_message: MakeMessage, review_url: str
) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await channel(1).send(make_message(review_url=review_url))
    assert caught.value.reason == NO_REVIEW_LINK


async def test_a_bad_reply_to_is_a_configuration_error(make_message: MakeMessage) -> None:
    with pytest.raises(DeliveryConfigurationError):
        await channel(1).send(make_message(reply_to="front desk"))


async def test_failures_log_no_patient_data(
    smtp_server: Any,
    sink_factory: Any,
    make_message: MakeMessage,
    patient: Any,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging(settings)
    caplog.set_level("DEBUG")
    port = smtp_server(sink_factory(rcpt_reply=f"550 5.1.1 <{patient.email}> unknown user"))
    with pytest.raises(PermanentDeliveryError) as caught:
        await channel(port).send(make_message())
    ok_port = smtp_server(sink_factory())
    await channel(ok_port).send(make_message())

    _assert_no_patient_data(str(caught.value), patient)
    output = capsys.readouterr()
    assert "delivery.email.failed" in output.err
    assert "delivery.email.sent" in output.err
    _assert_no_patient_data(output.out + output.err, patient)
    for record in caplog.records:
        _assert_no_patient_data(record.getMessage() + repr(getattr(record, "msg", "")), patient)


class PeerSink:
    """An aiosmtpd handler recording the client port of every accepted message (one port: one
    connection); scripted RCPT replies are consumed one per message, ``drop`` hangs up at DATA
    once."""

    def __init__(self, rcpt_replies: list[str] | None = None) -> None:
        self.received: list[bytes] = []
        self.peers: list[int] = []
        self.rcpt_replies = list(rcpt_replies or [])
        self.drop = False

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop:
            self.drop = False
            server.transport.close()
            return "421 4.3.2 closing"
        self.peers.append(session.peer[1])
        self.received.append(envelope.content)
        return "250 2.0.0 queued"


async def test_messages_reuse_one_pooled_connection(
    smtp_server: Any, make_message: MakeMessage
) -> None:
    sink = PeerSink()
    port = smtp_server(sink)
    email = channel(port)
    await email.send(make_message(ledger_key="k-1"))
    await email.send(make_message(ledger_key="k-2"))
    assert len(sink.received) == 2
    assert email.connections_opened == 1
    assert len(set(sink.peers)) == 1


async def test_a_refused_recipient_keeps_the_connection(
    smtp_server: Any, make_message: MakeMessage
) -> None:
    sink = PeerSink(rcpt_replies=["550 5.1.1 unknown user", "451 4.7.1 greylisted"])
    port = smtp_server(sink)
    email = channel(port)
    with pytest.raises(PermanentDeliveryError):
        await email.send(make_message(ledger_key="k-1"))
    with pytest.raises(TransientDeliveryError):
        await email.send(make_message(ledger_key="k-2"))
    await email.send(make_message(ledger_key="k-3"))
    assert len(sink.received) == 1
    assert email.connections_opened == 1


async def test_a_lost_connection_is_discarded_and_the_next_send_reconnects(
    smtp_server: Any, make_message: MakeMessage
) -> None:
    sink = PeerSink()
    port = smtp_server(sink)
    email = channel(port)
    await email.send(make_message(ledger_key="k-1"))
    sink.drop = True
    with pytest.raises(TransientDeliveryError) as caught:
        await email.send(make_message(ledger_key="k-2"))
    assert caught.value.__cause__ is None
    await email.send(make_message(ledger_key="k-3"))
    assert email.connections_opened == 2
    assert len(sink.peers) == 2
    assert sink.peers[0] != sink.peers[1]


async def test_concurrent_sends_share_at_most_pool_size_connections(
    smtp_server: Any, make_message: MakeMessage
) -> None:
    sink = PeerSink()
    port = smtp_server(sink)
    email = channel(port, pool_size=2)
    await asyncio.gather(*(email.send(make_message(ledger_key=f"k-{i}")) for i in range(8)))
    assert len(sink.received) == 8
    assert email.connections_opened <= 2
    assert len(set(sink.peers)) == email.connections_opened


async def test_idle_connections_are_closed_and_aclose_closes_the_pool(
    smtp_server: Any, make_message: MakeMessage
) -> None:
    sink = PeerSink()
    port = smtp_server(sink)
    email = channel(port, idle_close_s=0.2)
    await email.send(make_message(ledger_key="k-1"))
    await asyncio.sleep(0.4)
    await email.send(make_message(ledger_key="k-2"))
    assert email.connections_opened == 2
    await email.aclose()
    await email.send(make_message(ledger_key="k-3"))
    assert email.connections_opened == 3
    assert len(set(sink.peers)) == 3


def _assert_no_patient_data(text: str, patient: Any) -> None:
    lowered = text.lower()
    assert patient.email.lower() not in lowered
    assert patient.email.split("@")[0].lower() not in lowered
    assert patient.first_name.lower() not in lowered
