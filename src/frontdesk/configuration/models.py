"""Configuration versions: a snapshot of one integration group after each change.

A version is written by the service layer (:mod:`frontdesk.configuration.versions`) whenever a
group, its triggers, properties or mappings change, whoever changes them (integration API,
dashboard, ``config apply``, ``config rollback``). The snapshot is JSON without secret values;
each secure value is kept as a copy of its ciphertext in :class:`ConfigVersionSecret`
(an :class:`~frontdesk.db.types.EncryptedText` column, so ``frontdesk admin rotate-key``
re-encrypts it with every other secret). Versions outlive their group (no foreign key): the
history of a removed group is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime

ORIGINS = ("api", "dashboard", "apply", "rollback", "cli")


class ConfigVersion(Base):
    """Version ``number`` (1, 2, ...) of group ``group_id``: who, from where, what."""

    __tablename__ = "config_versions"
    __table_args__ = (UniqueConstraint("group_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, index=True)
    business_id: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    secrets: Mapped[list[ConfigVersionSecret]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ConfigVersionSecret.id",
    )


class ConfigVersionSecret(Base):
    """The encrypted copy of one secure value of a version (``scope``: ``group`` or the
    location's business number)."""

    __tablename__ = "config_version_secrets"
    __table_args__ = (UniqueConstraint("version_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("config_versions.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(120))
    secret_value: Mapped[str] = mapped_column(EncryptedText())


__all__ = ["ORIGINS", "ConfigVersion", "ConfigVersionSecret"]
