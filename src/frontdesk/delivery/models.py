"""Delivery tables: per-business message templates and the demo mail capture."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime


class MessageTemplate(Base):
    """A business's own templates for one channel (Jinja2 sources, validated on save).

    A location without a row uses its enterprise's row, then the shipped defaults.
    """

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("business_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CapturedMail(Base):
    """A message received by the demo SMTP capture (``frontdesk demo``), stored whole."""

    __tablename__ = "captured_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_tos: Mapped[list[str]] = mapped_column(JSON)
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
