"""A business's webhook endpoint: set, rotate its secret, find the one a location uses.

The secret is shown once, when it is made (set or rotate), and stored encrypted. A location
without an endpoint of its own uses its enterprise's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.businesses.models import Business
from frontdesk.clock import Clock
from frontdesk.delivery.addresses import usable_review_url
from frontdesk.delivery.webhook.models import WebhookEndpoint
from frontdesk.delivery.webhook.signing import new_secret
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.security.secrets import SecretBox


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str = field(repr=False)


async def set_endpoint(
    session: AsyncSession, *, secrets: SecretBox, clock: Clock, business_id: int, url: str
) -> str | None:
    """Set the URL (absolute http(s)); a new endpoint's secret is returned once."""
    if usable_review_url(url) is None:
        raise InvalidInput("the webhook URL is not a usable http(s) URL", field="url")
    now = clock.now()
    row = await session.get(WebhookEndpoint, business_id)
    if row is not None:
        row.url = url.strip()
        return None
    secret = new_secret()
    session.add(
        WebhookEndpoint(
            business_id=business_id,
            url=url.strip(),
            secret=secrets.encrypt(secret),
            created_at=now,
            rotated_at=now,
        )
    )
    return secret


async def rotate_secret(
    session: AsyncSession, *, secrets: SecretBox, clock: Clock, business_id: int
) -> str:
    """A new secret for the endpoint (returned once; the old one stops working now)."""
    row = await session.get(WebhookEndpoint, business_id)
    if row is None:
        raise NotFound("this business has no webhook endpoint", field="businessNumber")
    secret = new_secret()
    row.secret, row.rotated_at = secrets.encrypt(secret), clock.now()
    return secret


async def endpoint_for(
    session: AsyncSession, *, secrets: SecretBox, business_id: int
) -> Endpoint | None:
    """The endpoint a location's events go to: its own, else its enterprise's."""
    row = await session.get(WebhookEndpoint, business_id)
    if row is None:
        business = await session.get(Business, business_id)
        if business is not None and business.enterprise_id is not None:
            row = await session.get(WebhookEndpoint, business.enterprise_id)
    if row is None:
        return None
    return Endpoint(url=row.url, secret=secrets.decrypt(row.secret))
