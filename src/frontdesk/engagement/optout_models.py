"""Opt-out tables: who asked not to be contacted, by hash only, and the pepper of that hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime


class OptOut(Base):
    """A contact that asked to receive no more review requests on ``channel``.

    ``business_id`` is the opt-out's scope: the enterprise for a location (an opt-out covers
    all locations of the enterprise), the business itself for an SMB. ``contact_hash`` is
    HMAC-SHA256 of the normalised contact with the install's pepper: never the address.
    """

    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("business_id", "channel", "contact_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    contact_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))
    request_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContactPepper(Base):
    """The install's secret for contact hashes, generated once, encrypted with the key ring.

    Stored rather than derived from a key: keys rotate and are eventually dropped, and an
    opt-out must stay findable for ever. ``frontdesk admin rotate-key`` re-encrypts it like
    every other :class:`EncryptedText` column; its value never changes.
    """

    __tablename__ = "contact_peppers"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
