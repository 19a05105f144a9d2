"""Activation tables: ``activation_requests`` (one per business and source) and
``activation_events`` (its status history, with who changed it, when, and the mail outcome).

The vendor's service user is stored encrypted with the key ring (like a group's secure
``User_Name``); everything else from the set-up call is plain operator-entered data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from frontdesk.businesses.models import Business
from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime
from frontdesk.integrations.models import IntegrationSource


class ActivationRequest(Base):
    """The request that the vendor activate our application for one business and source."""

    __tablename__ = "activation_requests"
    __table_args__ = (
        UniqueConstraint("business_id", "source_id", name="uq_activation_requests_business_source"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("integration_sources.id"))
    status: Mapped[str] = mapped_column(String(16))
    practice_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    client_id: Mapped[str | None] = mapped_column(String(120))
    """The vendor's id of the client (Unity: the Ubiquity client id)."""
    service_user_secret: Mapped[str | None] = mapped_column(Text)
    """The vendor's ServiceUser (``<client>:<code>^<n>^<user>``), encrypted."""
    environment: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(160))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[str] = mapped_column(String(160))

    business: Mapped[Business] = relationship(lazy="joined")
    source: Mapped[IntegrationSource] = relationship(lazy="joined")
    events: Mapped[list[ActivationEvent]] = relationship(
        lazy="selectin", order_by="ActivationEvent.id", cascade="all, delete-orphan"
    )


class ActivationEvent(Base):
    """One status change (creation included: ``from_status`` None)."""

    __tablename__ = "activation_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activation_id: Mapped[int] = mapped_column(
        ForeignKey("activation_requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    notification: Mapped[str | None] = mapped_column(String(60))
    """The confirmation mail's outcome (``sent``, ``no_support_email``, ``failed: ...``)."""
