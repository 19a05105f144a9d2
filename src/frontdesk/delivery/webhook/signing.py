"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
with the ``standardwebhooks`` package: ``v1,`` + base64 HMAC-SHA256 of
``{id}.{timestamp}.{body}`` keyed with the secret (``whsec_`` + base64 of 24 random bytes).

The event id is derived from the ledger key, so a resent event (a retry, a reconcile after a
crash, an operator's requeue) carries the same ``webhook-id`` and receivers de-duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (the spec's prefix, not a secret)


def new_secret() -> str:
    """A fresh signing secret in the spec's ``whsec_`` form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def event_id(ledger_key: str) -> str:
    """The stable ``webhook-id`` of the event of ``ledger_key``."""
    return "msg_" + hashlib.sha256(ledger_key.encode()).hexdigest()[:32]


def signed_headers(secret: str, *, msg_id: str, when: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``."""
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }
