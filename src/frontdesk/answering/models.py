"""Tables of the Answering Service API v2: accounts, tokens, tickets, lockouts.

Accounts mirror the vendor's set-up (spec §3): an answering-service **company** (the API user's
COMPANY field), its **API users** (never "all practices": an explicit list), **practices** (the
call center's practice codes, ``prac``) and **doctors** (``dc``, per practice, with a Secure
Messaging flag). A company may name an "Answering Service" practice that receives tickets whose
``prac`` is unknown, flagged unassigned (ambiguity 17).

Tickets keep every submitted field verbatim. ``answering_ticket_status_history`` records every
status a ticket has had (the first row is written with the ticket); the ticket desk
(:mod:`frontdesk.answering.desk`) adds the transitions, the assignee and its own tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime


class AnsweringPractice(Base):
    """A practice of the call center, addressed by the ``prac`` code."""

    __tablename__ = "answering_practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnsweringCompany(Base):
    """An answering-service company; ``name`` is the COMPANY field quoted in ticket notes."""

    __tablename__ = "answering_companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    unassigned_practice_id: Mapped[int | None] = mapped_column(
        # explicit name: the conventional one exceeds PostgreSQL's 63 characters
        ForeignKey(
            "answering_practices.id",
            ondelete="SET NULL",
            name="fk_answering_companies_unassigned_practice_id",
        ),
        index=True,
    )
    """When set, tickets for unknown practices are filed here as Unassigned instead of 405."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnsweringUser(Base):
    """An API user: argon2 password hash, its own encryption key (encrypted at rest)."""

    __tablename__ = "answering_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("answering_companies.id", ondelete="RESTRICT"), index=True
    )
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    encryption_key: Mapped[str] = mapped_column(EncryptedText())
    active: Mapped[bool] = mapped_column(Boolean())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnsweringUserPractice(Base):
    """A practice an API user may file tickets for (405 otherwise)."""

    __tablename__ = "answering_user_practices"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("answering_users.id", ondelete="CASCADE"), primary_key=True
    )
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("answering_practices.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AnsweringDoctor(Base):
    """A doctor code (``dc``) of one practice."""

    __tablename__ = "answering_doctors"
    __table_args__ = (UniqueConstraint("practice_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("answering_practices.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secure_messaging: Mapped[bool] = mapped_column(Boolean())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnsweringToken(Base):
    """An API token, stored as SHA-256; valid until 2 h after ``last_activity_at``."""

    __tablename__ = "answering_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("answering_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnsweringTicket(Base):
    """A ticket as submitted through ``as``/``adi``; visible to its company's API users only."""

    __tablename__ = "answering_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(16), unique=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("answering_companies.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("answering_users.id", ondelete="SET NULL"), index=True
    )
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("answering_practices.id", ondelete="RESTRICT"), index=True
    )
    doctor_id: Mapped[int | None] = mapped_column(
        ForeignKey("answering_doctors.id", ondelete="SET NULL"), index=True
    )
    unassigned: Mapped[bool] = mapped_column(Boolean())
    status: Mapped[str] = mapped_column(String(32))
    prac: Mapped[str] = mapped_column(Text())
    client_code: Mapped[str] = mapped_column(Text())
    dc: Mapped[str] = mapped_column(Text())
    patient_lname: Mapped[str] = mapped_column(Text())
    patient_fname: Mapped[str] = mapped_column(Text())
    dob: Mapped[str] = mapped_column(String(8))
    sex: Mapped[str] = mapped_column(Text())
    complaint: Mapped[str] = mapped_column(Text())
    caller_lname: Mapped[str] = mapped_column(Text())
    caller_fname: Mapped[str] = mapped_column(Text())
    relationship: Mapped[str] = mapped_column(Text())
    contact_phone: Mapped[str] = mapped_column(Text())
    contact_phone_2: Mapped[str] = mapped_column(Text())
    email: Mapped[str] = mapped_column(Text())
    address: Mapped[str] = mapped_column(Text())
    city: Mapped[str] = mapped_column(Text())
    state: Mapped[str] = mapped_column(Text())
    zip: Mapped[str] = mapped_column(Text())
    comments: Mapped[str] = mapped_column(Text())
    txt: Mapped[str] = mapped_column(Text())
    call_type: Mapped[str] = mapped_column(Text())
    field_mr: Mapped[str] = mapped_column(Text())
    notes: Mapped[str] = mapped_column(Text())
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    """SHA-256 of the submitted fields: finds duplicate submissions without reading PHI."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assignee_user_id: Mapped[int | None] = mapped_column(Integer(), index=True)
    """The staff user (``staff_users.id``) working the ticket; no foreign key, because the
    staff tables live on another migration branch (the ticket desk checks it on assignment)."""
    assignee_name: Mapped[str | None] = mapped_column(String(80))
    """The assignee's username when assigned (kept if the user is later deleted)."""


class AnsweringTicketStatus(Base):
    """One status a ticket entered, when and by whom (first row: ``IN PROGRESS`` at creation)."""

    __tablename__ = "answering_ticket_status_history"
    __table_args__ = (Index("ix_answering_ticket_status_history_ticket_pk_id", "ticket_pk", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_pk: Mapped[int] = mapped_column(ForeignKey("answering_tickets.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    from_status: Mapped[str | None] = mapped_column(String(32))
    """The status before this one (None for the first row)."""
    actor_role: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(80))
    """The assignee's username after this step, when it has one."""
    note: Mapped[str | None] = mapped_column(Text())
    """The note given with the transition (free text: may hold patient details)."""


class AnsweringLockout(Base):
    """A lock of tokenCreate until ``locked_until`` (or released by staff), as a record.

    ``kind`` says what is locked (:mod:`frontdesk.security.login_throttle`): ``pair`` (the
    username from ``source``), ``account`` (the username from sources that failed for it) or
    ``source`` (every username from ``source``; ``username`` is ``*``). The counters
    themselves live in ``login_throttle``.
    """

    __tablename__ = "answering_lockouts"
    __table_args__ = (
        Index("ix_answering_lockouts_username_locked_until", "username", "locked_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(160))
    kind: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(64))
