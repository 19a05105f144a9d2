"""The small rules of texting, table-driven: replies, numbers, segments, provider errors."""

from __future__ import annotations

import pytest

from frontdesk.delivery.channel import (
    DeliveryConfigurationError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from frontdesk.delivery.phone import mobile_number, segments
from frontdesk.delivery.sms.errors import classify
from frontdesk.delivery.sms.keywords import Intent, read_reply


@pytest.mark.parametrize(
    ("body", "intent", "keyword"),
    [
        ("STOP", Intent.OPT_OUT, "STOP"),
        (" stop. ", Intent.OPT_OUT, "STOP"),
        ("Unsubscribe", Intent.OPT_OUT, "UNSUBSCRIBE"),
        ("STOPALL", Intent.OPT_OUT, "STOPALL"),
        ("cancel", Intent.OPT_OUT, "CANCEL"),
        ("end", Intent.OPT_OUT, "END"),
        ("quit", Intent.OPT_OUT, "QUIT"),
        ("revoke", Intent.OPT_OUT, "REVOKE"),
        ("optout", Intent.OPT_OUT, "OPTOUT"),
        ("START", Intent.OPT_IN, "START"),
        ("yes", Intent.OPT_IN, "YES"),
        ("unstop", Intent.OPT_IN, "UNSTOP"),
        ("HELP", Intent.HELP, "HELP"),
        ("info?", Intent.HELP, "INFO"),
        ("Please stop texting me", Intent.OPT_OUT, None),
        ("don't text me again", Intent.OPT_OUT, None),
        ("no more messages please", Intent.OPT_OUT, None),
        ("take me off your list", Intent.OPT_OUT, None),
    ],
)
def test_replies_are_read(body: str, intent: Intent, keyword: str | None) -> None:
    reading = read_reply(body)
    assert reading is not None
    assert (reading.intent, reading.keyword) == (intent, keyword)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "Thanks!",
        "Will the bus stop near the clinic?",
        "I could not stop smiling after my visit, the staff were great and so kind to my mother "
        "who was nervous, please unsubscribe her sister from nothing",
    ],
)
def test_other_replies_ask_for_nothing(body: str) -> None:
    assert read_reply(body) is None


@pytest.mark.parametrize(
    ("raw", "number", "problem"),
    [
        ("(703) 555-0101", "+17035550101", None),
        ("+1 571 555 0103", "+15715550103", None),
        ("+44 7700 900 123", None, "malformed"),  # Ofcom drama range: not a valid number
        ("+44 7911 123456", "+447911123456", None),
        ("+44 20 7183 8750", None, "not_mobile"),
        ("not a number", None, "malformed"),
        ("", None, "missing"),
    ],
)
def test_numbers_are_e164_mobiles(raw: str, number: str | None, problem: str | None) -> None:
    checked = mobile_number(raw)
    assert (checked.number, checked.problem) == (number, problem)


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 158 + "€", "GSM-7", 1),  # an extension character counts twice
        ("Merci André ✓", "UCS-2", 1),
        ("✓" * 71, "UCS-2", 2),
    ],
)
def test_segments(text: str, encoding: str, count: int) -> None:
    measured = segments(text)
    assert (measured.encoding, measured.segments) == (encoding, count)


@pytest.mark.parametrize(
    ("status", "code", "kind", "reason"),
    [
        (400, 21211, PermanentDeliveryError, "no_usable_contact"),
        (400, 21614, PermanentDeliveryError, "no_usable_contact"),
        (400, 21610, PermanentDeliveryError, "opted_out"),
        (400, 21602, PermanentDeliveryError, "message_refused"),
        (429, 20429, TransientDeliveryError, None),
        (503, None, TransientDeliveryError, None),
        (401, 20003, DeliveryConfigurationError, None),
        (400, 21606, DeliveryConfigurationError, None),
    ],
)
def test_provider_errors(status: int, code: int | None, kind: type, reason: str | None) -> None:
    error = classify(status, code, ledger_key="rr:1:2:A:3:sms")
    assert isinstance(error, kind)
    assert getattr(error, "reason", None) == reason
