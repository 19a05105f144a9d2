"""The decision log: one ``checkins`` row per appointment a sync run decided.

``UNIQUE (group_id, appointment_id, appointment_day)`` makes every decision happen once: a
restarted or repeated run inserts with ``ON CONFLICT DO NOTHING``. Patient fields (names,
email, phone, birth date) are one encrypted JSON document (``patient_sealed``); matching
needs only ``contact_hash`` (HMAC of the email with the install's pepper, the same hash the
opt-outs use) and the EHR's ``patient_id``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime

ELIGIBLE, RESTRICTED = "eligible", "restricted"
_DAY_START = ("appointment_day", "appointment_start", "id")


class CheckIn(Base):
    """An appointment arriving from a source, with its recorded decision."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("group_id", "appointment_id", "appointment_day"),
        # (…, appointment_day, appointment_start, id): the Check-ins page's keyset (0011).
        Index("ix_checkins_scope_day_start", "scope_business_id", *_DAY_START),
        Index("ix_checkins_scope_patient", "scope_business_id", "patient_id"),
        Index("ix_checkins_scope_contact", "scope_business_id", "contact_hash"),
        Index("ix_checkins_business_day_start", "business_id", *_DAY_START),
        Index("ix_checkins_day_start", *_DAY_START),
        Index("ix_checkins_appointment", "appointment_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("integration_groups.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(
        ForeignKey("integration_sources.id", ondelete="RESTRICT")
    )
    trigger_id: Mapped[int | None] = mapped_column(
        ForeignKey("integration_triggers.id", ondelete="RESTRICT")
    )
    mapping_id: Mapped[int | None] = mapped_column(
        ForeignKey("integration_mappings.id", ondelete="SET NULL", name="fk_checkins_mapping")
    )
    business_id: Mapped[int | None] = mapped_column(
        ForeignKey("businesses.id", ondelete="RESTRICT")
    )
    scope_business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="RESTRICT", name="fk_checkins_scope_business")
    )
    appointment_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64))
    appointment_start: Mapped[datetime] = mapped_column(UTCDateTime())
    appointment_day: Mapped[date] = mapped_column(Date)
    pms_appointment_status: Mapped[str] = mapped_column(String(64))
    pms_appointment_type: Mapped[str] = mapped_column(String(64))
    pms_appointment_practice_name: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(16))
    restriction_reason: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(200))
    contact_hash: Mapped[str | None] = mapped_column(String(64))
    channels: Mapped[str | None] = mapped_column(String(64))
    """Eligible: the channels the request goes by, comma-separated (a channel choice such
    as ``email_and_sms`` may choose several; migration 0055)."""
    patient_sealed: Mapped[str | None] = mapped_column(EncryptedText())
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
