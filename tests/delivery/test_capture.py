"""The demo mail capture: a real SMTP server that stores every message it receives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiosmtplib
import pytest

from frontdesk.context import AppContext
from frontdesk.delivery.capture import (
    MailCapture,
    get_captured_by_message_id,
    list_captured,
    parse_captured,
)
from frontdesk.delivery.email import EmailChannel
from frontdesk.logs import configure_logging
from frontdesk.settings import Settings, SmtpSettings


@pytest.fixture
async def capture(ctx: AppContext) -> AsyncIterator[MailCapture]:
    server = MailCapture(ctx.db.url, clock=ctx.clock)
    await server.astart()
    yield server
    await server.astop()


def email_channel(capture: MailCapture) -> EmailChannel:
    smtp = SmtpSettings(host=capture.hostname, port=capture.port, from_="reviews@frontdesk.example")
    return EmailChannel(smtp, timeout_s=10)


async def test_the_capture_stores_what_the_email_channel_sends(
    ctx: AppContext, capture: MailCapture, make_message: Any, patient: Any
) -> None:
    assert capture.port > 0
    channel = email_channel(capture)
    first = await channel.send(make_message(ledger_key="req-1"))
    second = await channel.send(make_message(ledger_key="req-2", location_name="Fairfax"))

    # Stored before the server said 250: visible as soon as send returns.
    async with ctx.db.reader() as session:
        listed = await list_captured(session)
        found = await get_captured_by_message_id(session, message_id=first.message_id)
        bare = await get_captured_by_message_id(session, message_id=second.message_id.strip("<>"))
        missing = await get_captured_by_message_id(session, message_id="<nope@x>")
        page = await list_captured(session, before_id=listed[0].id)
        assert [m.message_id for m in listed] == [second.message_id, first.message_id]
        assert [m.message_id for m in page] == [first.message_id]
        assert missing is None
        assert bare is not None
        assert bare.subject == "How was your visit to Fairfax?"
        assert found is not None
        assert found.mail_from == "reviews@frontdesk.example"
        assert found.rcpt_tos == ["Zoe.Patient@example.org"]
        assert found.received_at.tzinfo is not None
        parsed = parse_captured(found)
        text = parsed.get_body(preferencelist=("plain",))
        assert text is not None
        assert f"Hi {patient.first_name}," in str(text.get_content())
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_the_capture_accepts_any_client_and_raw_messages(
    ctx: AppContext, capture: MailCapture
) -> None:
    raw = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: plain\r\n\r\nhello\r\n"
    await aiosmtplib.send(
        raw,
        sender="a@example.org",
        recipients=["b@example.org", "c@example.org"],
        hostname=capture.hostname,
        port=capture.port,
    )
    async with ctx.db.reader() as session:
        (mail,) = await list_captured(session)
        assert mail.message_id is None
        assert mail.subject == "plain"
        assert mail.rcpt_tos == ["b@example.org", "c@example.org"]
        assert "hello" in mail.raw


async def test_capture_can_restart_and_logs_no_patient_data(
    ctx: AppContext,
    settings: Settings,
    make_message: Any,
    patient: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging(settings)
    caplog.set_level("DEBUG")
    for key in ("run-1", "run-2"):
        server = MailCapture(ctx.db.url)
        server.start()
        try:
            await email_channel(server).send(make_message(ledger_key=key))
        finally:
            server.stop()
        server.stop()  # stopping twice is harmless
    async with ctx.db.reader() as session:
        assert len(await list_captured(session)) == 2
    output = capsys.readouterr()
    assert "delivery.capture.stored" in output.err
    text = (output.out + output.err).lower()
    for record in caplog.records:
        text += record.getMessage().lower()
    assert patient.email.lower() not in text
    assert patient.email.split("@")[0].lower() not in text
    assert patient.first_name.lower() not in text
