"""Reprocessing: judge stored ``errored`` / ``rejected`` messages again.

After staff configure the missing facility or the sender fixes a mapping, the kept messages
are read again from the store (no resend needed); those now usable become ``accepted`` and the
HL7 source reads them at its next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from frontdesk.clock import Clock
from frontdesk.hl7.intake import KnowsFacility, error_text, judge
from frontdesk.hl7.message import Unreadable, header_of, parse
from frontdesk.hl7.models import ACCEPTED, ERRORED, REJECTED, Hl7Message
from frontdesk.hl7.store import MessageStore
from frontdesk.logs import get_logger

log = get_logger(__name__)


@dataclass
class ReprocessReport:
    """How many messages were judged again, and what they became."""

    seen: int = 0
    accepted: int = 0
    still_failing: int = 0


async def reprocess(
    store: MessageStore,
    *,
    knows: KnowsFacility,
    clock: Clock,
    ids: Sequence[int] | None = None,
    facilities: frozenset[str] | None = None,
) -> ReprocessReport:
    """Judge again the messages ``ids`` (None: every errored or rejected message), of
    ``facilities`` only when given."""
    report = ReprocessReport()
    statement = select(Hl7Message).order_by(Hl7Message.id)
    if ids is None:
        statement = statement.where(Hl7Message.state.in_((ERRORED, REJECTED)))
    else:
        statement = statement.where(Hl7Message.id.in_(ids))
    if facilities is not None:
        folded = [f.lower() for f in facilities]
        statement = statement.where(func.lower(Hl7Message.sending_facility).in_(folded))
    async with store.db.reader() as session:
        rows = list((await session.execute(statement)).scalars())
        session.expunge_all()
    for row in rows:
        report.seen += 1
        try:
            message = parse(store.raw_text(row))
            header = header_of(message)
        except Unreadable:
            report.still_failing += 1
            continue
        verdict = await judge(message, header, knows)
        visit = verdict.visit
        async with store.db.transaction() as session:
            await session.execute(
                update(Hl7Message)
                .where(Hl7Message.id == row.id)
                .values(
                    state=verdict.state,
                    error=error_text(verdict),
                    appointment_id=visit.appointment_id[:200] if visit else None,
                    appointment_day=visit.start.date() if visit else None,
                    location=visit.location[:200] if visit else None,
                    processed_at=clock.now(),
                )
            )
        if verdict.state == ACCEPTED:
            report.accepted += 1
        else:
            report.still_failing += 1
        log.info(
            "hl7.reprocessed", message_id=row.id, control_id=row.control_id, state=verdict.state
        )
    return report
