"""What the ``sms`` channel declares to the core: its property keys and its template rule.

Per business (group properties, A2P 10DLC registers senders per brand):

- ``twilio.from``: the business's own sender number (E.164), instead of
  ``FRONTDESK_TWILIO__FROM``;
- ``twilio.messaging_service_sid``: the business's own messaging service (``MG…``), which
  wins over any number;
- ``twilio.help_text``: the answer to HELP / INFO sent to a number of the business (default:
  a text naming the practice).

Templates are of kind ``mobile`` and must carry the review link and "Reply STOP" (the
carriers' opt-out instruction), not an unsubscribe URL.
"""

from __future__ import annotations

import re

from frontdesk.connectors.spec import PropertySpec
from frontdesk.delivery.choice import TemplateRule
from frontdesk.delivery.phone import sender_number

FROM_KEY = "twilio.from"
SERVICE_KEY = "twilio.messaging_service_sid"
HELP_KEY = "twilio.help_text"
MAX_HELP_TEXT = 320  # two GSM-7 segments
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


def sender(value: str) -> str:
    """A sender number in E.164 (``+`` and the country code)."""
    number = sender_number(value)
    if number is None:
        raise ValueError("must be a phone number in E.164 (+ and the country code)")
    return number


def messaging_service_sid(value: str) -> str:
    """A Twilio messaging service sid: ``MG`` and 32 hexadecimal digits."""
    if not _SERVICE_SID.match(value.strip()):
        raise ValueError("must be a messaging service sid (MG and 32 hex digits)")
    return value.strip()


def help_text(value: str) -> str:
    """One or two text segments of plain text."""
    text = " ".join(value.split())
    if not text:
        raise ValueError("must not be blank")
    if len(text) > MAX_HELP_TEXT:
        raise ValueError(f"must be at most {MAX_HELP_TEXT} characters")
    return text


def default_help_text(practice: str) -> str:
    """The HELP answer of a practice that set none: it names the practice."""
    return (
        f"{practice}: review requests after your visit. Reply STOP to opt out, START to opt "
        "back in. Msg&data rates may apply."
    )


SMS_PROPERTIES: tuple[PropertySpec, ...] = (
    PropertySpec(
        FROM_KEY,
        "phone",
        sender,
        "group",
        description="the business's own sender number for texts (E.164)",
    ),
    PropertySpec(
        SERVICE_KEY,
        "messaging-service",
        messaging_service_sid,
        "group",
        description="the business's own Twilio messaging service (MG…); wins over twilio.from",
    ),
    PropertySpec(
        HELP_KEY,
        "text",
        help_text,
        "group",
        max_length=MAX_HELP_TEXT * 2,
        description="the answer to HELP / INFO texts (default: names the practice)",
    ),
)

SMS_TEMPLATES = TemplateRule(kind="mobile", links=("review_url",), phrases=("Reply STOP",))
