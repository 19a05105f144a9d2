"""Integration tables: the catalog, groups with triggers and properties, location mappings.

The catalog (sources, triggers, trigger types) is data seeded by migration: adding a source
is adding rows, not code. Property values live in one of two columns: ``value`` (plain text)
or ``secret_value`` (ciphertext, :class:`~frontdesk.db.types.EncryptedText`) when secure.
Group and mapping ids are never reused (``sqlite_autoincrement``; sequences on PostgreSQL)
because support staff and the audit log refer to them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from frontdesk.businesses.models import Business
from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime

GROUP_STATUSES = ("active", "inactive", "unauthorized")
FREQUENCY_UNITS = ("hours", "days")


class IntegrationTriggerType(Base):
    """How a trigger runs, e.g. id 1 ``JOB``."""

    __tablename__ = "integration_trigger_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class IntegrationSource(Base):
    """An external system kind, e.g. id 32 ``ALLSCRIPTS``; ``lifecycle`` is live or beta."""

    __tablename__ = "integration_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    source_category: Mapped[str] = mapped_column(String(60))
    integration_type: Mapped[str] = mapped_column(String(60))
    oauth_enabled: Mapped[bool] = mapped_column(Boolean)
    lifecycle: Mapped[str] = mapped_column(String(16))
    match_key: Mapped[str | None] = mapped_column(String(120))
    """The location property groups of this source route by (its spec's; upserted)."""
    password_key: Mapped[str | None] = mapped_column(String(120))
    """The group property that is a password that ages (its spec's; upserted)."""
    uses_app_credentials: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    """The app's own service credentials go along (their expiry is the source's too)."""


class IntegrationTrigger(Base):
    """What a source can produce, e.g. id 56 ``allscriptsAppointmentTriggerService``."""

    __tablename__ = "integration_triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("integration_sources.id", ondelete="RESTRICT"), index=True
    )
    trigger_service: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    # Explicit names where the conventional ones pass PostgreSQL's 63-character limit.
    trigger_type_id: Mapped[int] = mapped_column(
        ForeignKey(
            "integration_trigger_types.id",
            ondelete="RESTRICT",
            name="fk_integration_triggers_trigger_type",
        )
    )
    action_group_id: Mapped[int] = mapped_column(Integer)

    trigger_type: Mapped[IntegrationTriggerType] = relationship(lazy="selectin")


class IntegrationGroup(Base):
    """One per business and source: triggers, group properties, status."""

    __tablename__ = "integration_groups"
    __table_args__ = (
        UniqueConstraint("business_id", "source_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="RESTRICT"))
    source_id: Mapped[int] = mapped_column(
        ForeignKey("integration_sources.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """Set when staff removed the group: hidden and never run, its history kept (0054)."""

    business: Mapped[Business] = relationship(lazy="selectin")
    source: Mapped[IntegrationSource] = relationship(lazy="selectin")
    triggers: Mapped[list[GroupTrigger]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="GroupTrigger.trigger_id",
    )
    properties: Mapped[list[GroupProperty]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="GroupProperty.key",
    )


class GroupTrigger(Base):
    """A trigger enabled on a group, with the trigger type it runs as."""

    __tablename__ = "integration_group_triggers"
    __table_args__ = (UniqueConstraint("group_id", "trigger_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("integration_groups.id", ondelete="CASCADE"))
    trigger_id: Mapped[int] = mapped_column(
        ForeignKey("integration_triggers.id", ondelete="RESTRICT")
    )
    trigger_type_id: Mapped[int] = mapped_column(
        ForeignKey(
            "integration_trigger_types.id",
            ondelete="RESTRICT",
            name="fk_integration_group_triggers_trigger_type",
        )
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    trigger: Mapped[IntegrationTrigger] = relationship(lazy="selectin")


class PropertyColumns:
    """A key and its value: plain in ``value`` or encrypted in ``secret_value``."""

    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[str | None] = mapped_column(Text)
    secret_value: Mapped[str | None] = mapped_column(EncryptedText())
    is_secure: Mapped[bool] = mapped_column(Boolean)
    # The credential lifecycle needs to know when e.g. PM_Password was last set.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupProperty(PropertyColumns, Base):
    """A group property (``propertyKey``/``propertyValue``/``isSecure``)."""

    __tablename__ = "integration_group_properties"
    __table_args__ = (UniqueConstraint("group_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("integration_groups.id", ondelete="CASCADE"))


class IntegrationMapping(Base):
    """A location (business) attached to a group, with its schedule."""

    __tablename__ = "integration_mappings"
    __table_args__ = (
        UniqueConstraint("group_id", "business_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("integration_groups.id", ondelete="CASCADE"))
    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean)
    frequency_value: Mapped[int] = mapped_column(Integer)
    frequency_unit: Mapped[str] = mapped_column(String(8))
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    customer_fetch_delay_days: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    business: Mapped[Business] = relationship(lazy="selectin")
    group: Mapped[IntegrationGroup] = relationship(lazy="selectin")
    properties: Mapped[list[MappingProperty]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MappingProperty.key",
    )


class MappingProperty(PropertyColumns, Base):
    """A location property (e.g. ``allscripts.location.name``) or a group-property override."""

    __tablename__ = "integration_mapping_properties"
    __table_args__ = (UniqueConstraint("mapping_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mapping_id: Mapped[int] = mapped_column(
        ForeignKey(
            "integration_mappings.id",
            ondelete="CASCADE",
            name="fk_integration_mapping_properties_mapping",
        )
    )


__all__ = [
    "FREQUENCY_UNITS",
    "GROUP_STATUSES",
    "GroupProperty",
    "GroupTrigger",
    "IntegrationGroup",
    "IntegrationMapping",
    "IntegrationSource",
    "IntegrationTrigger",
    "IntegrationTriggerType",
    "MappingProperty",
]
