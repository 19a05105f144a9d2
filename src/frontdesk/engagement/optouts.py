"""Opt-outs: a patient's "no more review requests", honoured across the whole practice.

Scope: an opt-out recorded through any location of an enterprise applies to every location
of that enterprise (patients see one practice, not its offices); for an SMB it applies to the
SMB. It is per channel: opting out of email does not stop SMS.

Nothing stores the contact itself: ``contact_hash`` is HMAC-SHA256 of the normalised contact
(email: trimmed, lower-cased; phone: digits, NANP 10-digit numbers prefixed with 1) keyed with
the install's pepper, a random secret generated once and stored encrypted with the key ring
(:class:`~frontdesk.engagement.optout_models.ContactPepper`). Without the key ring the hashes
cannot be tested against guessed addresses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as stdlib_secrets
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.businesses.models import Business
from frontdesk.clock import Clock
from frontdesk.engagement.optout_models import ContactPepper, OptOut
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.security.secrets import SecretBox

SOURCES = (
    "unsubscribe_link",
    "one_click",
    "staff",
    "sms_keyword",
    "sms_reply",
    "provider",
    "import",
)
PEPPER_NAME = "contact_hash"


def normalise_contact(channel: str, contact: str) -> str:
    """The comparison form of a contact for ``channel``."""
    text = contact.strip()
    if channel == "sms":
        digits = "".join(c for c in text if c.isdigit())
        return "1" + digits if len(digits) == 10 else digits
    return text.lower()


def hash_contact(pepper: bytes, *, channel: str, contact: str) -> str:
    """HMAC-SHA256 (hex) of the normalised contact, keyed with the install's pepper."""
    kind = "phone" if channel == "sms" else "email" if channel == "email" else channel
    data = f"{kind}:{normalise_contact(channel, contact)}".encode()
    return hmac.new(pepper, data, hashlib.sha256).hexdigest()


async def contact_pepper(
    session: AsyncSession, *, secrets: SecretBox, clock: Clock, create: bool = True
) -> bytes | None:
    """The install's pepper; created on first use when ``create`` (needs a write session)."""
    row = await session.get(ContactPepper, PEPPER_NAME)
    if row is None and create:
        value = base64.urlsafe_b64encode(stdlib_secrets.token_bytes(32)).decode("ascii")
        await _insert_ignoring_conflict(
            session,
            ContactPepper.__table__,  # type: ignore[arg-type]
            {"name": PEPPER_NAME, "value": secrets.encrypt(value), "created_at": clock.now()},
            ["name"],
        )
        row = await session.get(ContactPepper, PEPPER_NAME)
    if row is None:
        return None
    return base64.urlsafe_b64decode(secrets.decrypt(row.value))


async def opt_out_scope(session: AsyncSession, *, business_id: int) -> int:
    """The business an opt-out is recorded against: the enterprise of a location, else itself."""
    business = await session.get(Business, business_id)
    if business is None:
        raise NotFound(f"business id {business_id} not found", field="businessId")
    return business.enterprise_id or business.id


async def record_opt_out(
    session: AsyncSession,
    *,
    clock: Clock,
    scope_business_id: int,
    channel: str,
    contact_hash: str,
    source: str,
    request_key: str | None = None,
) -> tuple[OptOut, bool]:
    """Record an opt-out once; ``(row, created)``. Repeats and races keep the first row."""
    if source not in SOURCES:
        raise InvalidInput("not a known opt-out source", field="source")
    created = await _insert_ignoring_conflict(
        session,
        OptOut.__table__,  # type: ignore[arg-type]
        {
            "business_id": scope_business_id,
            "channel": channel,
            "contact_hash": contact_hash,
            "source": source,
            "request_key": request_key,
            "created_at": clock.now(),
        },
        ["business_id", "channel", "contact_hash"],
    )
    row = (
        await session.execute(
            select(OptOut).where(
                OptOut.business_id == scope_business_id,
                OptOut.channel == channel,
                OptOut.contact_hash == contact_hash,
            )
        )
    ).scalar_one()
    return row, created


async def record_contact_opt_out(
    session: AsyncSession,
    *,
    secrets: SecretBox,
    clock: Clock,
    business_id: int,
    channel: str,
    contact: str,
    source: str = "staff",
) -> tuple[OptOut, bool]:
    """Record an opt-out for a contact given in plain text (staff taking a phone call)."""
    pepper = await contact_pepper(session, secrets=secrets, clock=clock)
    assert pepper is not None
    return await record_opt_out(
        session,
        clock=clock,
        scope_business_id=await opt_out_scope(session, business_id=business_id),
        channel=channel,
        contact_hash=hash_contact(pepper, channel=channel, contact=contact),
        source=source,
    )


async def is_opted_out(
    session: AsyncSession,
    *,
    secrets: SecretBox,
    business_id: int,
    channel: str,
    contact: str,
) -> bool:
    """Whether ``contact`` opted out of ``channel`` anywhere in ``business_id``'s practice.

    Works in a read-only session: with no pepper yet, nobody has opted out.
    """
    row = await session.get(ContactPepper, PEPPER_NAME)
    if row is None:
        return False
    pepper = base64.urlsafe_b64decode(secrets.decrypt(row.value))
    scope = await opt_out_scope(session, business_id=business_id)
    query = select(OptOut.id).where(
        OptOut.business_id == scope,
        OptOut.channel == channel,
        OptOut.contact_hash == hash_contact(pepper, channel=channel, contact=contact),
    )
    return (await session.execute(query.limit(1))).first() is not None


async def _insert_ignoring_conflict(
    session: AsyncSession, table: Table, values: dict[str, Any], conflict: list[str]
) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL; True when a row went in."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(*table.primary_key.columns)
    )
    # RETURNING, not rowcount: drivers disagree on rowcount for a skipped conflict.
    return (await session.execute(statement)).first() is not None
