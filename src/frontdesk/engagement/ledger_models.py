"""The review-request ledger: one ``review_requests`` row per request, unique in the database.

``UNIQUE (business_id, source_id, appointment_id, trigger_id, channel)``: a location asks
about an appointment once per trigger and channel, whatever runs, retries or crashes do.
States::

    pending ──claim──▶ sending ──▶ sent
       ▲                  │  ├───▶ failed   (permanent refusal)
       │  transient, with │  └───▶ parked   (attempts spent, configuration error,
       └── backoff ───────┘                  outcome unknown after a crash)
    failed / parked ──operator requeue──▶ pending

``claim_token`` grows with every claim (never reset, unlike ``attempts`` on a requeue) and
fences the record step: a worker whose claim was taken over cannot write its outcome.
No patient data here: the recipient comes from the check-in's sealed document at send time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime

PENDING, SENDING, SENT, FAILED, PARKED = "pending", "sending", "sent", "failed", "parked"
STATES = (PENDING, SENDING, SENT, FAILED, PARKED)
REQUEUEABLE = (FAILED, PARKED)


class ReviewRequest(Base):
    """One review request and where it stands."""

    __tablename__ = "review_requests"
    __table_args__ = (
        UniqueConstraint(
            "business_id",
            "source_id",
            "appointment_id",
            "trigger_id",
            "channel",
            name="uq_review_requests_key",
        ),
        Index("ix_review_requests_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_review_requests_business_id_created_at", "business_id", "created_at"),
        # The Outbox page (0012): newest first per state, of everyone, a practice, a location.
        Index("ix_review_requests_state_id", "state", "id"),
        Index("ix_review_requests_scope_state_id", "scope_business_id", "state", "id"),
        Index("ix_review_requests_business_state_id", "business_id", "state", "id"),
        Index("ix_review_requests_appointment_id", "appointment_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("checkins.id", ondelete="CASCADE"), index=True
    )
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="RESTRICT"))
    scope_business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="RESTRICT", name="fk_review_requests_scope_business")
    )
    source_id: Mapped[int] = mapped_column(
        ForeignKey("integration_sources.id", ondelete="RESTRICT")
    )
    trigger_id: Mapped[int] = mapped_column(Integer)  # 0: the source has no trigger
    appointment_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(String(200))
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def ledger_key(self) -> str:
        """The stable key channels derive idempotency values from (the email Message-ID)."""
        return ledger_key(
            business_id=self.business_id,
            source_id=self.source_id,
            appointment_id=self.appointment_id,
            trigger_id=self.trigger_id,
            channel=self.channel,
        )


def ledger_key(
    *, business_id: int, source_id: int, appointment_id: str, trigger_id: int, channel: str
) -> str:
    """``rr:<location>:<source>:<appointment>:<trigger>:<channel>`` — the unique key as text."""
    return f"rr:{business_id}:{source_id}:{appointment_id}:{trigger_id}:{channel}"
