"""The HL7v2 message store: every inbound message, stored before it is acknowledged.

One row per (sending facility, MSH-10 control id): a re-sent message is stored once. The raw
message is ciphertext (:class:`~frontdesk.db.types.EncryptedText`: it carries patient data,
and ``frontdesk admin rotate-key`` re-encrypts it with the other secrets). The plain columns
hold only what searching and the HL7 source's ``read`` need: ids, codes, the appointment's
local day and location, the state and an error text that never quotes patient data.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime

ACCEPTED = "accepted"
"""Stored and usable: the HL7 source reads it (ACK AA)."""
ERRORED = "errored"
"""Stored, but its content is unusable (ACK AE): fix the feed or the mapping, then reprocess."""
REJECTED = "rejected"
"""Stored, not processed: unknown sending facility or unsupported type (ACK AR)."""
STATES = (ACCEPTED, ERRORED, REJECTED)


class Hl7Message(Base):
    """One inbound HL7v2 message (see the module docstring)."""

    __tablename__ = "hl7_messages"
    __table_args__ = (
        UniqueConstraint("sending_facility", "control_id"),
        Index("ix_hl7_messages_facility_day", "sending_facility", "appointment_day"),
        Index("ix_hl7_messages_facility_appointment", "sending_facility", "appointment_id"),
        Index("ix_hl7_messages_state", "state"),
        Index("ix_hl7_messages_received_at", "received_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    control_id: Mapped[str] = mapped_column(String(200))
    sending_facility: Mapped[str] = mapped_column(String(200))
    sending_application: Mapped[str] = mapped_column(String(200))
    message_type: Mapped[str] = mapped_column(String(20))
    """``SIU^S12``, ``ADT^A03``: MSH-9.1 and MSH-9.2."""
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(300))
    appointment_id: Mapped[str | None] = mapped_column(String(200))
    appointment_day: Mapped[date | None] = mapped_column(Date)
    location: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raw: Mapped[str] = mapped_column(EncryptedText())
