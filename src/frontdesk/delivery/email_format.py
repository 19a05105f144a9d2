"""The review-request email: a multipart/alternative message with the headers that matter.

Headers: ``From`` (the business's display name, our sending address), ``To`` (the bare address:
no patient name in headers), ``Reply-To`` (the business's, when set), ``Subject``, ``Date``,
``Message-ID`` (derived from the ledger key, :func:`message_id_for`), ``List-Unsubscribe``
(``<https URL>``) with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), and
``Auto-Submitted: auto-generated`` (RFC 3834: no out-of-office replies).

The message is serialised here, with lines folded at 998 characters (the RFC 5322 limit)
instead of 78: a folded ``List-Unsubscribe`` would be turned into RFC 2047 encoded words and
the URL would no longer work. Non-ASCII header text is still encoded.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache

from frontdesk.delivery.addresses import check_email_address, usable_review_url
from frontdesk.delivery.channel import (
    NO_REVIEW_LINK,
    NO_USABLE_CONTACT,
    DeliveryConfigurationError,
    OutgoingMessage,
    PermanentDeliveryError,
)
from frontdesk.delivery.templates import render_template_set
from frontdesk.errors import FatalError

EMAIL_POLICY = policy.SMTP.clone(max_line_length=998)
ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True, slots=True)
class BuiltEmail:
    """A message ready for SMTP: envelope addresses and the exact bytes."""

    message_id: str
    envelope_from: str
    envelope_to: str
    data: bytes


def message_id_for(ledger_key: str, *, domain: str) -> str:
    """``<first 32 hex digits of SHA-256(ledger key)@domain>``: the same request, the same id."""
    digest = hashlib.sha256(ledger_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def message_id_from(ledger_key: str, *, sender_address: str) -> str:
    """The ``Message-ID`` :func:`build_email` gives the message of ``ledger_key``."""
    sender = _check_own_address(sender_address).address
    domain = sender.rsplit("@", 1)[1] if sender else "localhost"
    return message_id_for(ledger_key, domain=domain)


def build_email(
    message: OutgoingMessage,
    *,
    sender_address: str,
    when: datetime,
    review_link: str | None = None,
) -> BuiltEmail:
    """Render and assemble the email of ``message``, or raise a classified delivery error.

    ``review_link``: what the templates' ``{{ review_url }}`` renders — the request's tracked
    link (``/r/{token}``) when the channel has one; else the location's review link itself.
    The location's link is checked either way: it is where the tracked link leads."""
    recipient = check_email_address(message.recipient)
    if recipient.address is None:
        raise PermanentDeliveryError(
            f"request {message.ledger_key}: no usable email address ({recipient.problem})",
            reason=NO_USABLE_CONTACT,
        )
    review_url = usable_review_url(message.review_url)
    if review_url is None:
        raise PermanentDeliveryError(
            f"request {message.ledger_key}: the location has no usable review link",
            reason=NO_REVIEW_LINK,
        )
    if usable_review_url(message.unsubscribe_url) != message.unsubscribe_url:
        raise FatalError(f"request {message.ledger_key}: the unsubscribe URL is malformed")
    sender = _check_own_address(sender_address)
    if sender.address is None:
        raise DeliveryConfigurationError("the SMTP from address is not usable", field="smtp.from")
    reply_to = None
    if message.reply_to:
        reply_to = _check_own_address(message.reply_to).address
        if reply_to is None:
            raise DeliveryConfigurationError(
                "the business's reply-to address is not usable", field="replyTo"
            )
    sender_name = " ".join(message.sender_name.split())
    rendered = render_template_set(
        message.templates,
        {
            "first_name": " ".join(message.patient_first_name.split()),
            "location_name": message.location_name,
            "review_url": review_link or review_url,
            "unsubscribe_url": message.unsubscribe_url,
            "sender_name": sender_name,
        },
    )
    domain = sender.address.rsplit("@", 1)[1]
    message_id = message_id_for(message.ledger_key, domain=domain)

    headers = _Headers(
        sender_name=sender_name,
        sender=sender.address,
        recipient=recipient.address,
        reply_to=reply_to,
        subject=rendered.subject,
        date=format_datetime(when),
        message_id=message_id,
        unsubscribe_url=message.unsubscribe_url,
    )
    data = _assemble_fast(headers, rendered.text, rendered.html)
    if data is None:
        data = _assemble_reference(headers, rendered.text, rendered.html)
    return BuiltEmail(
        message_id=message_id,
        envelope_from=sender.address,
        envelope_to=recipient.address,
        data=data,
    )


_check_own_address = lru_cache(maxsize=1024)(check_email_address)
"""The sending and reply-to addresses (ours and the businesses'): checked once each."""


@dataclass(frozen=True, slots=True)
class _Headers:
    sender_name: str
    sender: str
    recipient: str
    reply_to: str | None
    subject: str
    date: str
    message_id: str
    unsubscribe_url: str


def _assemble_reference(headers: _Headers, text: str, html: str | None) -> bytes:
    """The message built with the ``email`` package: the definition :func:`_assemble_fast`
    reproduces, and the path for whatever the fast path does not handle."""
    email = EmailMessage(policy=EMAIL_POLICY)
    email["From"] = Address(display_name=headers.sender_name, addr_spec=headers.sender)
    email["To"] = Address(addr_spec=headers.recipient)
    if headers.reply_to is not None:
        email["Reply-To"] = Address(display_name=headers.sender_name, addr_spec=headers.reply_to)
    email["Subject"] = headers.subject
    email["Date"] = headers.date
    email["Message-ID"] = headers.message_id
    email["List-Unsubscribe"] = f"<{headers.unsubscribe_url}>"
    email["List-Unsubscribe-Post"] = ONE_CLICK
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(text)
    if html is not None:
        email.add_alternative(html, subtype="html")
    return email.as_bytes(policy=EMAIL_POLICY)


# -- the fast path ------------------------------------------------------------------------
#
# The ``email`` package parses every header it is given and re-folds it on output, and builds
# a tree of parts to serialise: about a millisecond per message. The fast path writes the same
# bytes directly: headers that depend only on the business or the location (From, Reply-To,
# Subject) are folded once by the ``email`` package and cached; the per-message ones (To, Date,
# Message-ID, List-Unsubscribe) are written as they are when they are plain ASCII tokens well
# under the line limit (what the package would write too), else folded by the package. Bodies
# whose lines all fit in 998 octets go out as 7bit (ASCII) or 8bit (UTF-8), as the package
# decides; anything else (a longer line: quoted-printable or base64) takes the reference path.
# ``tests/delivery/test_email_format.py`` compares both paths byte for byte.

_CRLF = "\r\n"
_MAX_LINE = 998
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_SIMPLE_MESSAGE_ID = re.compile(r"<[0-9a-f]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>")
_SIMPLE_TOKEN = re.compile(r"[\x21-\x7e]+")
_SIMPLE_DATE = re.compile(r"[A-Za-z0-9 ,:+-]+")
_BOUNDARY_WIDTH = len(repr(sys.maxsize - 1))
_PART_HEADERS = {
    ("plain", "7bit"): 'Content-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: 7bit\r\n",
    ("plain", "8bit"): 'Content-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: 8bit\r\n",
    # ``add_alternative`` gives the part it adds its own MIME-Version header.
    ("html", "7bit"): 'Content-Type: text/html; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n",
    ("html", "8bit"): 'Content-Type: text/html; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: 8bit\r\nMIME-Version: 1.0\r\n",
}


def _assemble_fast(headers: _Headers, text: str, html: str | None) -> bytes | None:
    """The bytes :func:`_assemble_reference` writes (up to the boundary), or None."""
    text_body = _body(text)
    html_body = _body(html) if html is not None else None
    if text_body is None or (html is not None and html_body is None):
        return None
    lines = [
        _folded_address("From", headers.sender_name, headers.sender),
        _simple_or_folded("To", headers.recipient, _SIMPLE_ADDRESS),
    ]
    if headers.reply_to is not None:
        lines.append(_folded_address("Reply-To", headers.sender_name, headers.reply_to))
    lines += [
        _folded("Subject", headers.subject),
        _simple_or_folded("Date", headers.date, _SIMPLE_DATE),
        _simple_or_folded("Message-ID", headers.message_id, _SIMPLE_MESSAGE_ID),
        _simple_or_folded("List-Unsubscribe", f"<{headers.unsubscribe_url}>", _SIMPLE_TOKEN),
        _folded("List-Unsubscribe-Post", ONE_CLICK),
        _folded("Auto-Submitted", "auto-generated"),
    ]
    if html_body is None:  # a single part: its headers, then MIME-Version (set_content's order)
        cte, body = text_body
        lines += [_PART_HEADERS["plain", cte], "MIME-Version: 1.0\r\n", _CRLF, body]
        return "".join(lines).encode("utf-8", "surrogateescape")
    boundary = _boundary(text_body[1], html_body[1])
    delimiter = f"--{boundary}\r\n"
    lines += [
        "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n',
        _CRLF,
        delimiter,
        _PART_HEADERS["plain", text_body[0]],
        _CRLF,
        text_body[1],
        _CRLF,
        delimiter,
        _PART_HEADERS["html", html_body[0]],
        _CRLF,
        html_body[1],
        f"\r\n--{boundary}--\r\n",
    ]
    return "".join(lines).encode("utf-8", "surrogateescape")


def _body(content: str) -> tuple[str, str] | None:
    """``(transfer encoding, CRLF text)`` of a part body, or None if it needs encoding."""
    lines = content.splitlines()
    if not lines:
        return None
    if any(len(line) > _MAX_LINE // 4 and len(line.encode("utf-8")) > _MAX_LINE for line in lines):
        return None
    if _UTF8_SAFE.fullmatch(content) is None:
        return None
    body = _CRLF.join(lines) + _CRLF
    return ("7bit" if content.isascii() else "8bit"), body


# str.splitlines splits on more characters than bytes.splitlines (which the package uses):
# bodies holding any of them, or lone surrogates, take the reference path.
_UTF8_SAFE = re.compile(r"[^\v\f\x1c-\x1e\x85\u2028\u2029\ud800-\udfff]*")


def _boundary(*bodies: str) -> str:
    """A boundary in the ``email`` package's format, absent from the bodies."""
    token = random.randrange(sys.maxsize)
    boundary = "=" * 15 + f"{token:0{_BOUNDARY_WIDTH}d}" + "=="
    counter = 0
    candidate = boundary
    while any(f"--{candidate}" in body for body in bodies):
        candidate = f"{boundary}.{counter}"
        counter += 1
    return candidate


def _simple_or_folded(name: str, value: str, simple: re.Pattern[str]) -> str:
    # "=?" could start an encoded word, which the package would decode: leave that to it.
    if len(value) < _MAX_LINE - 100 and simple.fullmatch(value) and "=?" not in value:
        return f"{name}: {value}\r\n"
    return _fold(name, value)


@lru_cache(maxsize=1024)
def _folded(name: str, value: str) -> str:
    return _fold(name, value)


@lru_cache(maxsize=1024)
def _folded_address(name: str, display_name: str, addr_spec: str) -> str:
    return _fold(name, Address(display_name=display_name, addr_spec=addr_spec))


def _fold(name: str, value: object) -> str:
    """One header line as the ``email`` package writes it (parsed, folded, encoded)."""
    stored_name, stored = EMAIL_POLICY.header_store_parse(name, value)
    return EMAIL_POLICY.fold_binary(stored_name, stored).decode("utf-8", "surrogateescape")
