"""How an event is signed: a :class:`Signer` per kind of receiver.

Two signers, because two kinds of receivers already verify what they get:

- :class:`FrontdeskSigner` — the ticket desk's pushes to answering services:
  ``X-Frontdesk-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`` with
  ``X-Frontdesk-Timestamp``, ``X-Frontdesk-Delivery`` (the delivery id) and
  ``X-Frontdesk-Event`` (:mod:`frontdesk.answering.desk.webhooks` documents them);
- :class:`StandardWebhooksSigner` — review-request events, signed per the Standard Webhooks
  spec with the ``standardwebhooks`` package (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``; :mod:`frontdesk.delivery.webhook.signing`).

A signer is given the event's identity and the exact bytes POSTed; it returns headers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from frontdesk.answering.desk.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from frontdesk.delivery.webhook.signing import signed_headers


@dataclass(frozen=True, slots=True)
class Signing:
    """What a signer needs of one attempt (the secret is never logged)."""

    secret: str
    delivery_id: int
    event_id: str
    event: str
    body: bytes
    when: datetime


class Signer(Protocol):
    """Signs one attempt of an event: the headers to send with ``body``."""

    name: str

    def headers(self, signing: Signing) -> dict[str, str]:
        """The signature headers of this attempt."""
        ...


class FrontdeskSigner:
    """The ticket desk's ``X-Frontdesk-*`` headers (answering services verify them)."""

    name = "frontdesk"

    def headers(self, signing: Signing) -> dict[str, str]:
        timestamp = str(int(signing.when.timestamp()))
        return {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(signing.secret, timestamp, signing.body),
            DELIVERY_HEADER: str(signing.delivery_id),
            EVENT_HEADER: signing.event,
        }


class StandardWebhooksSigner:
    """Standard Webhooks headers; ``webhook-id`` is the stored event id."""

    name = "standard-webhooks"

    def headers(self, signing: Signing) -> dict[str, str]:
        return signed_headers(
            signing.secret, msg_id=signing.event_id, when=signing.when, body=signing.body
        )
