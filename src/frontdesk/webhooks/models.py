"""The outbound event store: one ``webhook_events`` row per event to push, of any kind.

States::

    pending ──claim──▶ sending ──2xx──▶ delivered
       ▲                  │ ├── timeout, lost connection, 429, 5xx (attempts left) ─┐
       └──── backoff ─────┘ │                                                      │
                            └── other answers, attempts spent, no target ──▶ parked
    parked / delivered ──replay──▶ pending (a fresh attempt budget, the same event id)

``kind`` says whose event it is (``ticket``: an answering company's status push;
``review``: a business's review-request event) and so how it is signed and where it goes.
A ticket event's payload holds no patient data and is stored as JSON; a review event's body
names a patient and is stored sealed with the key ring (``sealed``; ``frontdesk admin
rotate-key`` re-encrypts it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import EncryptedText, UTCDateTime

TICKET: Final = "ticket"
REVIEW: Final = "review"
KIND_NAMES: Final = (TICKET, REVIEW)

PENDING: Final = "pending"
SENDING: Final = "sending"
DELIVERED: Final = "delivered"
PARKED: Final = "parked"
STATES: Final = (PENDING, SENDING, DELIVERED, PARKED)
REPLAYABLE: Final = (PARKED, DELIVERED)


class WebhookEvent(Base):
    """One signed event to push, and where its delivery stands."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_webhook_events_kind_state_id", "kind", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    """Stable across every attempt, reconcile and replay: receivers de-duplicate by it."""
    kind: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(40))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("answering_companies.id", ondelete="CASCADE"), index=True
    )
    ticket_pk: Mapped[int | None] = mapped_column(
        ForeignKey("answering_tickets.id", ondelete="CASCADE"), index=True
    )
    business_id: Mapped[int | None] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sealed: Mapped[str | None] = mapped_column(EncryptedText())
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer())
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
