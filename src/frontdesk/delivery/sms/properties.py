"""What the ``sms`` channel declares to the core: its property keys and its template rule.

Per business (group properties, A2P 10DLC registers senders per brand):

- ``twilio.from``: the business's own sender number (E.164), instead of
  ``FRONTDESK_TWILIO__FROM``;
- ``twilio.messaging_service_sid``: the business's own messaging service (``MG…``), which
  wins over any number;
- ``twilio.help_text``: the answer to HELP / INFO sent to a number of the business (default:
  a text naming the practice);
- ``review.quiet.hours`` (group or location): ``HH:MM-HH:MM`` in the location's zone, or
  ``off`` (:mod:`.quiet`; default ``08:00-21:00``).

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
QUIET_KEY = "review.quiet.hours"
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


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


def quiet_hours(value: str) -> str:
    """``HH:MM-HH:MM`` (an end of 24:00 is midnight) or ``off``."""
    text = "".join(value.split()).lower()
    if text == "off":
        return text
    found = _WINDOW.match(text)
    if found is None:
        raise ValueError("must be HH:MM-HH:MM or off")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError("must be HH:MM-HH:MM with times of the day")
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


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
    PropertySpec(
        QUIET_KEY,
        "window",
        quiet_hours,
        "both",
        description="when texts may be sent: HH:MM-HH:MM in the location's zone, or off",
    ),
)

SMS_TEMPLATES = TemplateRule(kind="mobile", links=("review_url",), phrases=("Reply STOP",))
