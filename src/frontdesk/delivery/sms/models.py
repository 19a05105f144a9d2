"""Text-message tables: consent per sender number, its history, delivery statuses.

No phone number is stored: ``contact_hash`` is the opt-out hash of the patient's number
(:func:`frontdesk.engagement.optouts.hash_contact`, channel ``sms``); ``sender`` is *our*
number (or messaging service sid), not patient data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime


class SmsConsent(Base):
    """Where a patient's number stands with one of our sender numbers (STOP / START).

    A STOP applies to every business sending from ``sender``, whether or not that business
    ever texted the patient (carrier rules: the opt-out belongs to the sender number).
    """

    __tablename__ = "sms_consents"
    __table_args__ = (UniqueConstraint("sender", "contact_hash", name="uq_sms_consents_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(40))
    contact_hash: Mapped[str] = mapped_column(String(64))
    opted_out: Mapped[bool] = mapped_column(Boolean)
    keyword: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SmsConsentEvent(Base):
    """Every STOP / START / HELP / revocation received, with its source and time (append-only)."""

    __tablename__ = "sms_consent_events"
    __table_args__ = (Index("ix_sms_consent_events_key", "sender", "contact_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(40))
    contact_hash: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # opt_out, opt_in, help
    keyword: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # keyword, plain_language, provider
    message_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeliveryStatus(Base):
    """The provider's latest word on a message it accepted (status callbacks)."""

    __tablename__ = "delivery_statuses"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
