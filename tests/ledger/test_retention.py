"""Patient data is not kept forever (issue 19, finding 11): after the retention period the
check-ins lose their patient fields and the ledger its error texts; decisions and counts stay;
the purge is audited, idempotent, and waits for requests still in flight."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select, update

from frontdesk.audit.models import AuditEvent
from frontdesk.composition import Role, build_process
from frontdesk.context import AppContext
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger_models import PENDING, ReviewRequest
from frontdesk.engagement.retention import purge_patient_data

from .conftest import ON, Practice, Wired


def at(days_after: int) -> datetime:
    return datetime.combine(ON + timedelta(days=days_after), time(12), tzinfo=UTC)


async def snapshot(ctx: AppContext) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    async with ctx.db.reader() as session:
        checkins = (
            await session.execute(
                select(
                    CheckIn.id,
                    CheckIn.decision,
                    CheckIn.restriction_reason,
                    CheckIn.pms_appointment_status,
                    CheckIn.appointment_start,
                    CheckIn.patient_sealed.is_(None),
                    CheckIn.contact_hash.is_(None),
                    CheckIn.patient_id,
                ).order_by(CheckIn.id)
            )
        ).all()
        requests = (
            await session.execute(
                select(
                    ReviewRequest.id,
                    ReviewRequest.checkin_id,
                    ReviewRequest.state,
                    ReviewRequest.message_id,
                    ReviewRequest.last_error,
                ).order_by(ReviewRequest.id)
            )
        ).all()
    return [tuple(r) for r in checkins], [tuple(r) for r in requests]


async def test_old_patient_data_is_purged_keeping_decisions_and_counts(
    ctx: AppContext, practice: Practice, wired: Wired
) -> None:
    await wired.run_day(practice, ON)
    checkins, requests = await snapshot(ctx)
    assert checkins
    assert requests
    assert not any(row[5] for row in checkins)  # every check-in holds its sealed patient
    first, in_flight = requests[0], requests[1]
    async with ctx.db.transaction() as session:
        # a remote reply that quoted the recipient, and a request still waiting to be sent
        await session.execute(
            update(ReviewRequest)
            .where(ReviewRequest.id == first[0])
            .values(last_error="550 <jane.doe@example.com>: mailbox unavailable")
        )
        await session.execute(
            update(ReviewRequest).where(ReviewRequest.id == in_flight[0]).values(state=PENDING)
        )

    kept = await purge_patient_data(ctx, now=at(399))
    assert kept.checkins == 0  # within 400 days nothing goes

    report = await purge_patient_data(ctx, now=at(401))
    assert report.checkins == len(checkins) - 1
    assert report.review_requests == 1
    after, after_requests = await snapshot(ctx)
    assert len(after) == len(checkins)
    assert len(after_requests) == len(requests)
    for old, new in zip(checkins, after, strict=True):
        assert new[:5] == old[:5]  # id, decision, reason, status, time: unchanged
        if new[0] == in_flight[1]:
            assert new[5:] == old[5:]  # its request is in flight: it waits for the next run
        else:
            assert new[5:] == (True, True, "")
    assert [r[:4] for r in after_requests] == [
        (r[0], r[1], PENDING if r[0] == in_flight[0] else r[2], r[3]) for r in requests
    ]
    assert all(r[4] is None for r in after_requests)

    async with ctx.db.reader() as session:
        events = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.action == "retention.patient_data_purged")
                )
            )
            .scalars()
            .all()
        )
        assert [e.details["checkins"] for e in events] == [len(checkins) - 1]
        assert events[0].details["retentionDays"] == 400

    again = await purge_patient_data(ctx, now=at(402))
    assert again.checkins == 0  # idempotent: nothing left to purge, no second event
    async with ctx.db.reader() as session:
        count = await session.scalar(
            select(func.count()).where(AuditEvent.action == "retention.patient_data_purged")
        )
        assert count == 1


async def test_the_daily_job_is_registered_and_runs_the_purge(
    ctx: AppContext, practice: Practice, wired: Wired
) -> None:
    await wired.run_day(practice, ON)
    process = build_process(ctx, Role.WORKER)  # procrastinate workers run the daily job
    assert "retention_purge" in {p.task for p in process.schedule}
    task = process.tasks.get("retention_purge")
    ctx.clock.advance(timedelta(days=500))  # type: ignore[attr-defined]
    await task.body(timestamp=0)
    checkins, _ = await snapshot(ctx)
    assert all(row[5] for row in checkins)
    await process.sender.aclose()
