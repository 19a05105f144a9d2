"""The fast message assembly writes exactly what the ``email`` package writes."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from frontdesk.delivery import email_format
from frontdesk.delivery.channel import OutgoingMessage, TemplateSet
from frontdesk.delivery.email_format import BuiltEmail, build_email, message_id_for

MakeMessage = Callable[..., OutgoingMessage]
FROM = "reviews@mail.frontdesk.example"
WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def both_paths(
    monkeypatch: pytest.MonkeyPatch, message: OutgoingMessage, *, when: datetime = WHEN
) -> tuple[BuiltEmail, bytes | None, BuiltEmail]:
    """``build_email`` as is (and what the fast path returned), then forced onto the reference."""
    fast_results: list[bytes | None] = []
    real_fast = email_format._assemble_fast

    def spy(*args: Any) -> bytes | None:
        result = real_fast(*args)
        fast_results.append(result)
        return result

    monkeypatch.setattr(email_format, "_assemble_fast", spy)
    random.seed(20260304)  # both paths draw the multipart boundary from ``random``
    built = build_email(message, sender_address=FROM, when=when)
    monkeypatch.setattr(email_format, "_assemble_fast", lambda *_args: None)
    random.seed(20260304)
    reference = build_email(message, sender_address=FROM, when=when)
    monkeypatch.setattr(email_format, "_assemble_fast", real_fast)
    assert len(fast_results) == 1
    return built, fast_results[0], reference


def parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _templates(**overrides: str | None) -> TemplateSet:
    values: dict[str, Any] = {
        "subject": "Review {{ location_name }}",
        "text": "Hi {{ first_name }}: {{ review_url }}\nstop: {{ unsubscribe_url }}\n",
        "html": '<p>Hi {{ first_name }}</p><a href="{{ review_url }}">review</a>\n'
        '<a href="{{ unsubscribe_url }}">stop</a>',
    }
    values.update(overrides)
    return TemplateSet(**values)


FAST_CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "ascii-only": {"patient_first_name": "Ann"},
    "no-reply-to": {"reply_to": None},
    "non-ascii-sender": {"sender_name": "Clínica São José"},
    "sender-with-specials": {"sender_name": 'Smith, Jones & Co. "West" (Main)'},
    "non-ascii-location": {"location_name": "Zahnarztpraxis Müller – Köln"},
    "long-location": {"location_name": "Riverside " * 60},
    "plus-recipient": {"recipient": "o'brien+reviews@example.org"},
    "long-unsubscribe": {
        "unsubscribe_url": "https://frontdesk.example.org/unsubscribe/" + "A" * 300 + ".B"
    },
    "very-long-unsubscribe": {
        "unsubscribe_url": "https://frontdesk.example.org/unsubscribe/" + "A" * 870
    },
    "encoded-word-like-url": {"unsubscribe_url": "https://fd.example.org/u/=?utf-8?q?x?="},
    "text-only": {"templates": _templates(html=None)},
    "custom-templates": {"templates": _templates()},
    "no-trailing-newline": {"templates": _templates(text="Hi {{ first_name }}")},
    "blank-lines": {"templates": _templates(text="\n\nHi {{ first_name }}\n\n\n")},
    "cr-lines": {"templates": _templates(text="Hi\r\n{{ first_name }}\rthere\n")},
    "boundary-like-body": {
        "templates": _templates(text="Hi\n--===============0000000000000000000==\n")
    },
}


@pytest.mark.parametrize("overrides", FAST_CASES.values(), ids=FAST_CASES.keys())
def test_the_fast_path_writes_the_reference_bytes(
    monkeypatch: pytest.MonkeyPatch, make_message: MakeMessage, overrides: dict[str, Any]
) -> None:
    built, fast, reference = both_paths(monkeypatch, make_message(**overrides))
    assert fast is not None
    assert built.data == fast == reference.data
    assert built.message_id == reference.message_id


SLOW_CASES: dict[str, dict[str, Any]] = {
    "overlong-body-line": {"templates": _templates(text="x" * 1200 + " {{ first_name }}")},
    "form-feed": {"templates": _templates(text="Hi\f{{ first_name }}\n")},
    "line-separator": {"templates": _templates(text="Hi\u2028{{ first_name }}\n")},
    "empty-text": {"templates": _templates(text="{{ '' }}")},
}


@pytest.mark.parametrize("overrides", SLOW_CASES.values(), ids=SLOW_CASES.keys())
def test_what_the_fast_path_does_not_handle_takes_the_reference_path(
    monkeypatch: pytest.MonkeyPatch, make_message: MakeMessage, overrides: dict[str, Any]
) -> None:
    built, fast, reference = both_paths(monkeypatch, make_message(**overrides))
    assert fast is None
    assert built.data == reference.data


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7),
    ],
    ids=["offset", "microseconds", "naive"],
)
def test_dates_are_written_as_the_package_writes_them(
    monkeypatch: pytest.MonkeyPatch, make_message: MakeMessage, when: datetime
) -> None:
    built, fast, reference = both_paths(monkeypatch, make_message(), when=when)
    assert fast is not None
    assert built.data == reference.data


def test_the_fast_message_round_trips_through_the_parser(
    monkeypatch: pytest.MonkeyPatch, make_message: MakeMessage
) -> None:
    message = make_message(sender_name="Clínica São José")
    built, fast, _ = both_paths(monkeypatch, message)
    assert fast is not None
    email = parse(built.data)
    assert email.get_content_type() == "multipart/alternative"
    assert email["From"].addresses[0].display_name == "Clínica São José"
    assert email["From"].addresses[0].addr_spec == FROM
    assert str(email["To"]) == "Zoe.Patient@example.org"
    assert email["Reply-To"].addresses[0].addr_spec == "front.desk@riverside.example.com"
    assert email["Subject"] == "How was your visit to Riverside Family Medicine - Loudoun Office?"
    assert email["Date"].datetime == WHEN
    assert email["Message-ID"] == message_id_for(
        message.ledger_key, domain="mail.frontdesk.example"
    )
    assert email["List-Unsubscribe"] == "<http://frontdesk.test/unsubscribe/abc.def>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["Auto-Submitted"] == "auto-generated"
    parts = list(email.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]
    assert [p["Content-Transfer-Encoding"] for p in parts] == ["8bit", "8bit"]
    text, html = (str(p.get_content()) for p in parts)
    assert text.startswith("Hi Zoëlle,\r\n")
    assert "<p>Hi Zoëlle,</p>" in html
    assert b"\r\n" in built.data
    assert b"\n" not in built.data.replace(b"\r\n", b"")
