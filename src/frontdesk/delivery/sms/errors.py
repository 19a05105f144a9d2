"""Twilio's answers classified once, here, into the delivery error tree.

::

    TransientDeliveryError       429 / 20429 (rate limited), 5xx, timeouts, lost connections
    PermanentDeliveryError
      reason=no_usable_contact   21211 invalid 'To', 21614 not a mobile number, 21612
                                 unroutable, 21408 region not enabled for this number
      reason=opted_out           21610 the recipient replied STOP to this sender (the caller
                                 records the opt-out)
      reason=message_refused     any other 4xx about this message
    DeliveryConfigurationError   401 / 20003 (account sid or auth token refused), 21606 /
                                 21659 / 21660 / 21212 (our sender number refused), 20404 on
                                 the Messages resource (wrong account): a human must act

Error text carries Twilio's numeric code and the ledger key, never Twilio's message (which
quotes the phone number).
"""

from __future__ import annotations

from frontdesk.delivery.channel import (
    MESSAGE_REFUSED,
    NO_USABLE_CONTACT,
    DeliveryConfigurationError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from frontdesk.errors import FrontdeskError

OPTED_OUT = "opted_out"
UNSUBSCRIBED_RECIPIENT = 21610
INVALID_RECIPIENT = frozenset({21211, 21614, 21612, 21408, 21265})
SENDER_REFUSED = frozenset({21606, 21659, 21660, 21212, 21603, 21702, 21703})
AUTHENTICATION = frozenset({20003, 20005})
RATE_LIMITED = frozenset({20429, 14107})


def classify(status: int, code: int | None, *, ledger_key: str) -> FrontdeskError:
    """The error for an HTTP ``status`` with Twilio error ``code`` (None: no JSON body)."""
    where = f"request {ledger_key}"
    label = f"Twilio {code}" if code else f"HTTP {status}"
    if status == 401 or code in AUTHENTICATION:
        return DeliveryConfigurationError(
            f"Twilio refused the account sid or auth token ({label})", field="twilio.auth_token"
        )
    if status == 429 or code in RATE_LIMITED:
        return TransientDeliveryError(f"{where}: Twilio is rate limiting us ({label})")
    if status >= 500:
        return TransientDeliveryError(f"{where}: Twilio is unavailable ({label})")
    if code == UNSUBSCRIBED_RECIPIENT:
        return PermanentDeliveryError(
            f"{where}: the recipient unsubscribed from this sender ({label})", reason=OPTED_OUT
        )
    if code in INVALID_RECIPIENT:
        return PermanentDeliveryError(
            f"{where}: Twilio refused the recipient number ({label})", reason=NO_USABLE_CONTACT
        )
    if code in SENDER_REFUSED:
        return DeliveryConfigurationError(
            f"Twilio refused our sender number ({label})", field="twilio.from"
        )
    if status == 404:
        return DeliveryConfigurationError(
            f"Twilio does not know this account's Messages resource ({label})",
            field="twilio.account_sid",
        )
    if 400 <= status < 500:
        return PermanentDeliveryError(
            f"{where}: Twilio refused the message ({label})", reason=MESSAGE_REFUSED
        )
    return TransientDeliveryError(f"{where}: unexpected answer from Twilio ({label})")
