"""Signed, expiring unsubscribe tokens and the links that carry them.

A token is ``<payload>.<signature>``, both base64url without padding. The payload is compact
JSON ``[1, scope business id, channel, contact hash, ledger key, expiry (Unix seconds)]``; the
contact hash travels as 32 raw bytes, so no address, name or phone is in the URL. The signature
is HMAC-SHA256 over the encoded payload with a key derived from the newest key of the key ring
(``HMAC(key, "frontdesk/unsubscribe-token/v1")``); every key of the ring verifies, so links
survive a key rotation until the old key is dropped. Default lifetime: 60 days.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import Clock
from frontdesk.engagement.optouts import contact_pepper, hash_contact, opt_out_scope
from frontdesk.errors import RequestError
from frontdesk.security.secrets import SecretBox

DEFAULT_TTL = timedelta(days=60)
MAX_TOKEN_LENGTH = 2048
_VERSION = 1
_LABEL = b"frontdesk/unsubscribe-token/v1"


class InvalidUnsubscribeToken(RequestError):
    """The link was not made by us or was altered: nothing is recorded."""

    status_code = 400
    code = "invalid_unsubscribe_token"


class ExpiredUnsubscribeToken(InvalidUnsubscribeToken):
    """The link is genuine but older than its lifetime."""

    code = "expired_unsubscribe_token"


@dataclass(frozen=True, slots=True)
class UnsubscribeClaim:
    """What a verified token says: who (by hash) opts out of what, and until when it is valid."""

    scope_business_id: int
    channel: str
    contact_hash: str
    ledger_key: str | None
    expires_at: datetime


def make_unsubscribe_token(
    secrets: SecretBox,
    *,
    clock: Clock,
    scope_business_id: int,
    channel: str,
    contact_hash: str,
    ledger_key: str | None,
    ttl: timedelta = DEFAULT_TTL,
) -> str:
    """A token for one contact (by hash) of one practice and channel."""
    expires = int((clock.now() + ttl).timestamp())
    payload = [
        _VERSION,
        scope_business_id,
        channel,
        _b64(bytes.fromhex(contact_hash)),
        ledger_key,
        expires,
    ]
    encoded = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{encoded}.{_b64(_sign(_signing_keys(secrets)[0], encoded))}"


def read_unsubscribe_token(secrets: SecretBox, *, clock: Clock, token: str) -> UnsubscribeClaim:
    """Verify ``token``: :class:`InvalidUnsubscribeToken` or :class:`ExpiredUnsubscribeToken`."""
    invalid = InvalidUnsubscribeToken("this unsubscribe link is not valid", field="token")
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise invalid
    encoded, signature_text = token.split(".")
    try:
        _unb64(encoded)
        signature = _unb64(signature_text)
    except ValueError:
        raise invalid from None
    if not any(
        hmac.compare_digest(_sign(key, encoded), signature) for key in _signing_keys(secrets)
    ):
        raise invalid
    try:
        payload = json.loads(_unb64(encoded))
        version, scope, channel, contact, ledger_key, expires = payload
        if version != _VERSION or not isinstance(scope, int) or not isinstance(channel, str):
            raise ValueError("unexpected payload")
        if not isinstance(expires, int) or not (ledger_key is None or isinstance(ledger_key, str)):
            raise ValueError("unexpected payload")
        contact_hash = _unb64(str(contact)).hex()
    except (ValueError, TypeError):
        raise invalid from None
    expires_at = datetime.fromtimestamp(expires, UTC)
    if clock.now() >= expires_at:
        raise ExpiredUnsubscribeToken("this unsubscribe link has expired", field="token")
    return UnsubscribeClaim(
        scope_business_id=scope,
        channel=channel,
        contact_hash=contact_hash,
        ledger_key=ledger_key,
        expires_at=expires_at,
    )


def unsubscribe_url(public_url: str, token: str) -> str:
    """The link put into messages: ``<public URL>/unsubscribe/<token>``."""
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"


async def unsubscribe_link(
    session: AsyncSession,
    *,
    secrets: SecretBox,
    clock: Clock,
    public_url: str,
    business_id: int,
    channel: str,
    contact: str,
    ledger_key: str | None,
    ttl: timedelta = DEFAULT_TTL,
) -> str:
    """The unsubscribe URL of one message (creates the install's pepper on first use)."""
    pepper = await contact_pepper(session, secrets=secrets, clock=clock)
    assert pepper is not None
    token = make_unsubscribe_token(
        secrets,
        clock=clock,
        scope_business_id=await opt_out_scope(session, business_id=business_id),
        channel=channel,
        contact_hash=hash_contact(pepper, channel=channel, contact=contact),
        ledger_key=ledger_key,
        ttl=ttl,
    )
    return unsubscribe_url(public_url, token)


def _signing_keys(secrets: SecretBox) -> list[bytes]:
    return [hmac.new(key, _LABEL, hashlib.sha256).digest() for key in secrets.keys]


def _sign(key: bytes, encoded: str) -> bytes:
    return hmac.new(key, encoded.encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
