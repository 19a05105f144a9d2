"""Webhook endpoints: where a business receives review-request events, and the secret they
are signed with (encrypted with the key ring; ``frontdesk admin rotate-key`` re-encrypts it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime


class WebhookEndpoint(Base):
    """One business's endpoint (a location's, or its enterprise's for all its locations)."""

    __tablename__ = "webhook_endpoints"

    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime())
