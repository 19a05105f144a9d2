"""Tables of the ticket desk: notes, re-filings, idempotency keys, company webhooks.

Status transitions live in ``answering_ticket_status_history`` (:mod:`frontdesk.answering.models`)
and the assignee on the ticket row itself. Free text written by staff (notes, transition notes,
re-filing reasons) may hold patient details and is masked for roles that may not see them.
The pushes of status changes are events of the one outbound store
(:class:`frontdesk.webhooks.models.WebhookEvent`, kind ``ticket``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime


class AnsweringTicketNote(Base):
    """A note staff wrote on a ticket."""

    __tablename__ = "answering_ticket_notes"
    __table_args__ = (Index("ix_answering_ticket_notes_ticket_pk_id", "ticket_pk", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_pk: Mapped[int] = mapped_column(ForeignKey("answering_tickets.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text())
    actor: Mapped[str] = mapped_column(String(160))
    actor_role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnsweringTicketRefiling(Base):
    """A ticket moved to another practice and/or doctor, with the reason (codes as they were)."""

    __tablename__ = "answering_ticket_refilings"
    __table_args__ = (Index("ix_answering_ticket_refilings_ticket_pk_id", "ticket_pk", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_pk: Mapped[int] = mapped_column(ForeignKey("answering_tickets.id", ondelete="CASCADE"))
    from_practice: Mapped[str] = mapped_column(String(64))
    to_practice: Mapped[str] = mapped_column(String(64))
    from_doctor: Mapped[str | None] = mapped_column(String(64))
    to_doctor: Mapped[str | None] = mapped_column(String(64))
    was_unassigned: Mapped[bool] = mapped_column(Boolean())
    """The ticket had been filed under the company's Unassigned practice (unknown ``prac``)."""
    reason: Mapped[str] = mapped_column(Text())
    actor: Mapped[str] = mapped_column(String(160))
    actor_role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnsweringIdempotencyKey(Base):
    """(company, Idempotency-Key) → the ticket it created and a hash of the request's fields.

    The UNIQUE constraint is what makes concurrent identical requests create one ticket; a key
    older than the window is replaced by the next request that uses it.
    """

    __tablename__ = "answering_idempotency_keys"
    __table_args__ = (UniqueConstraint("company_id", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("answering_companies.id", ondelete="CASCADE")
    )
    key_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the key as sent (keys are opaque; any length up to the limit)."""
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_pk: Mapped[int] = mapped_column(
        ForeignKey("answering_tickets.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AnsweringCompanyWebhook(Base):
    """Where a company wants status changes pushed, and the secret that signs them."""

    __tablename__ = "answering_company_webhooks"

    company_id: Mapped[int] = mapped_column(
        ForeignKey("answering_companies.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text())
    secret: Mapped[str] = mapped_column(EncryptedText())
    active: Mapped[bool] = mapped_column(Boolean())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
