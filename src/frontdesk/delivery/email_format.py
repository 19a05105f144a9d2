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
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

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


def build_email(message: OutgoingMessage, *, sender_address: str, when: datetime) -> BuiltEmail:
    """Render and assemble the email of ``message``, or raise a classified delivery error."""
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
    sender = check_email_address(sender_address)
    if sender.address is None:
        raise DeliveryConfigurationError("the SMTP from address is not usable", field="smtp.from")
    reply_to = None
    if message.reply_to:
        reply_to = check_email_address(message.reply_to).address
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
            "review_url": review_url,
            "unsubscribe_url": message.unsubscribe_url,
            "sender_name": sender_name,
        },
    )
    domain = sender.address.rsplit("@", 1)[1]
    message_id = message_id_for(message.ledger_key, domain=domain)

    email = EmailMessage(policy=EMAIL_POLICY)
    email["From"] = Address(display_name=sender_name, addr_spec=sender.address)
    email["To"] = Address(addr_spec=recipient.address)
    if reply_to is not None:
        email["Reply-To"] = Address(display_name=sender_name, addr_spec=reply_to)
    email["Subject"] = rendered.subject
    email["Date"] = format_datetime(when)
    email["Message-ID"] = message_id
    email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
    email["List-Unsubscribe-Post"] = ONE_CLICK
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(rendered.text)
    if rendered.html is not None:
        email.add_alternative(rendered.html, subtype="html")
    return BuiltEmail(
        message_id=message_id,
        envelope_from=sender.address,
        envelope_to=recipient.address,
        data=email.as_bytes(policy=EMAIL_POLICY),
    )
