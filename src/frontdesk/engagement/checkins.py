"""The decision log's hot path: bulk look-ups for a batch of candidates, bulk inserts.

Everything is SQLAlchemy Core over lists (no ORM objects on the hot path), ``IN`` lists are
chunked, and inserts use ``ON CONFLICT DO NOTHING`` on the unique key ``(group_id,
appointment_id, appointment_day)`` so that a resumed or repeated run never writes a second
decision. The sync engine calls these in short transactions, never while awaiting the EHR.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.optout_models import OptOut

CHUNK = 500
T = TypeVar("T")
_TABLE: Table = CheckIn.__table__  # type: ignore[assignment]


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class WrittenCheckIn:
    """A check-in this transaction inserted (the review-request ledger hooks in here)."""

    id: int
    appointment_id: str
    appointment_day: date
    decision: str
    mapping_id: int | None
    channels: str | None = None
    """The channels the decision chose (comma-separated: one review request each); None
    (a decision older than channel choices): the mapping's ``review.channel``."""


async def decided_days(
    session: AsyncSession, *, group_id: int, appointment_ids: Sequence[str]
) -> dict[str, set[date]]:
    """Appointment id → the days it was already decided for, in this group."""
    found: dict[str, set[date]] = {}
    for part in chunks(sorted(set(appointment_ids))):
        rows = await session.execute(
            select(CheckIn.appointment_id, CheckIn.appointment_day).where(
                CheckIn.group_id == group_id, CheckIn.appointment_id.in_(part)
            )
        )
        for appointment_id, day in rows:
            found.setdefault(appointment_id, set()).add(day)
    return found


async def opted_out_hashes(
    session: AsyncSession, *, scope_business_id: int, channel: str, hashes: Iterable[str]
) -> set[str]:
    """The contact hashes among ``hashes`` that opted out of ``channel`` in the practice."""
    opted: set[str] = set()
    for part in chunks(sorted(set(hashes))):
        rows = await session.execute(
            select(OptOut.contact_hash).where(
                OptOut.business_id == scope_business_id,
                OptOut.channel == channel,
                OptOut.contact_hash.in_(part),
            )
        )
        opted.update(rows.scalars())
    return opted


async def eligible_days(
    session: AsyncSession,
    *,
    scope_business_id: int,
    source_id: int,
    patient_ids: Iterable[str],
    contact_hashes: Iterable[str],
    first: date,
    last: date,
) -> dict[str, set[date]]:
    """``p:<patient id>`` / ``c:<hash>`` → days with an eligible check-in in ``first..last``
    anywhere in the practice (patient ids compared within the same source)."""
    found: dict[str, set[date]] = {}
    in_days = (
        (CheckIn.scope_business_id == scope_business_id)
        & (CheckIn.decision == ELIGIBLE)
        & (CheckIn.appointment_day >= first)
        & (CheckIn.appointment_day <= last)
    )
    for part in chunks(sorted(set(patient_ids))):
        rows = await session.execute(
            select(CheckIn.patient_id, CheckIn.appointment_day).where(
                in_days, CheckIn.source_id == source_id, CheckIn.patient_id.in_(part)
            )
        )
        for patient_id, day in rows:
            found.setdefault(f"p:{patient_id}", set()).add(day)
    for part in chunks(sorted(set(contact_hashes))):
        rows = await session.execute(
            select(CheckIn.contact_hash, CheckIn.appointment_day).where(
                in_days, CheckIn.contact_hash.in_(part)
            )
        )
        for contact_hash, day in rows:
            found.setdefault(f"c:{contact_hash}", set()).add(day)
    return found


async def insert_checkins(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[WrittenCheckIn]:
    """Insert decisions, skipping any already recorded; returns the rows that went in."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # One cached statement executed with a list of rows: SQLAlchemy's "insertmanyvalues"
    # batches it into multi-row VALUES with RETURNING (no per-batch compilation).
    statement = (
        insert(_TABLE)
        .on_conflict_do_nothing(index_elements=["group_id", "appointment_id", "appointment_day"])
        .returning(
            _TABLE.c.id,
            _TABLE.c.appointment_id,
            _TABLE.c.appointment_day,
            _TABLE.c.decision,
            _TABLE.c.mapping_id,
            _TABLE.c.channels,
        )
    )
    result = await session.execute(statement, list(rows))
    written = [WrittenCheckIn(*row) for row in result]
    return written


async def run_counts(session: AsyncSession, *, run_id: int) -> dict[str, Any]:
    """Decisions of a run: ``eligible`` and ``restricted`` per reason."""
    rows = await session.execute(
        select(CheckIn.decision, CheckIn.restriction_reason, func.count())
        .where(CheckIn.run_id == run_id)
        .group_by(CheckIn.decision, CheckIn.restriction_reason)
    )
    eligible = 0
    restricted: Counter[str] = Counter()
    for decision, reason, count in rows:
        if decision == ELIGIBLE:
            eligible += count
        else:
            restricted[reason or "unknown"] += count
    return {"eligible": eligible, "restricted": dict(sorted(restricted.items()))}
