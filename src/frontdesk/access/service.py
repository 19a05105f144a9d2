"""Creating, authenticating and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.models import ApiKey
from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import visible_business
from frontdesk.clock import Clock
from frontdesk.errors import InvalidInput, NotFound

KEY_PREFIX = "fd_"


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``secret`` is shown once and never stored."""

    key: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    name: str,
    business_number: int | None = None,
) -> CreatedKey:
    """A staff key (no business) or a key limited to one business and its locations."""
    name = name.strip()
    if not name:
        raise InvalidInput("an API key needs a name", field="name")
    business: Business | None = None
    if business_number is not None:
        business = await visible_business(session, principal=principal, number=business_number)
    elif not principal.is_staff:
        raise NotFound("only staff may create staff keys")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=secret[:10],
        key_hash=hash_key(secret),
        business_id=business.id if business else None,
        created_at=clock.now(),
    )
    session.add(key)
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="api_key.create",
        target_type="api_key",
        target_id=str(key.id),
        business_id=business.id if business else None,
        details={"name": name, "prefix": key.prefix, "businessNumber": business_number},
    )
    return CreatedKey(key=key, secret=secret)


async def authenticate_key(session: AsyncSession, *, secret: str) -> Principal | None:
    """The principal of a presented key, or None when it is unknown or revoked."""
    row = (
        await session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(
        kind="api_key",
        id=row.id,
        name=row.name,
        role="staff" if row.business_id is None else "business",
        business_scope=row.business_id,
    )


async def list_api_keys(session: AsyncSession, *, principal: Principal) -> Sequence[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not principal.is_staff:
        query = query.where(ApiKey.business_id == principal.business_scope)
    return (await session.execute(query)).scalars().all()


async def revoke_api_key(
    session: AsyncSession, *, principal: Principal, clock: Clock, key_id: int
) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or not (principal.is_staff or key.business_id == principal.business_scope):
        raise NotFound(f"API key {key_id} not found", field="id")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        await record_event(
            session,
            clock=clock,
            actor=principal,
            action="api_key.revoke",
            target_type="api_key",
            target_id=str(key.id),
            business_id=key.business_id,
            details={"prefix": key.prefix},
        )
    return key
