"""The run lifecycle in the database: create, claim, heartbeat, requeue, finish, recover.

A run moves ``waiting → queued → running → succeeded | failed | cancelled`` (and back from
``running`` to ``queued`` on a transient error or an expired lease). Every change made by
a worker is *fenced* by the attempt number it claimed: a worker whose lease expired and was
taken over cannot finish, requeue or renew the run any more. Functions take the session and
never commit.

Recovery and promotion may run in several dispatchers at once (one periodic tick per worker
that picked one up): each first locks the rows it acts on with ``FOR UPDATE SKIP LOCKED``, so
concurrent dispatchers split the rows instead of queueing behind each other's locks (and a
worker renewing its lease is never waited for). SQLite ignores the clause; its single writer
serialises the dispatchers anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.connectors.base import Window
from frontdesk.sync.models import (
    ACTIVE_STATUSES,
    FAILED,
    QUEUED,
    RUNNING,
    WAITING,
    SyncRun,
    SyncRunMapping,
)


@dataclass(frozen=True)
class RunPlan:
    """One run to create: the day it acts as, its window, the mappings it covers."""

    run_day: date
    window: Window
    mapping_ids: tuple[int, ...]


@dataclass(frozen=True)
class Claim:
    """A run this worker owns until its lease expires; ``attempt`` is the fencing token."""

    run_id: int
    group_id: int
    attempt: int


async def create_runs(
    session: AsyncSession,
    *,
    group_id: int,
    kind: str,
    plans: Sequence[RunPlan],
    now: datetime,
    requested_by: str | None = None,
) -> list[SyncRun]:
    """Insert runs in order: the first ``queued`` when the group has none active, the rest
    ``waiting`` (the dispatcher promotes them one at a time)."""
    created: list[SyncRun] = []
    for plan in plans:
        run = None
        if not created or created[-1].status != QUEUED:
            run = await _try_insert(session, group_id, kind, plan, now, requested_by, QUEUED)
        if run is None:
            run = await _try_insert(session, group_id, kind, plan, now, requested_by, WAITING)
        assert run is not None
        created.append(run)
    return created


async def try_create_queued(
    session: AsyncSession,
    *,
    group_id: int,
    kind: str,
    plan: RunPlan,
    now: datetime,
    requested_by: str | None = None,
) -> SyncRun | None:
    """Insert a queued run, or None when the group already has one queued or running."""
    return await _try_insert(session, group_id, kind, plan, now, requested_by, QUEUED)


async def _try_insert(
    session: AsyncSession,
    group_id: int,
    kind: str,
    plan: RunPlan,
    now: datetime,
    requested_by: str | None,
    status: str,
) -> SyncRun | None:
    run = SyncRun(
        group_id=group_id,
        status=status,
        kind=kind,
        run_day=plan.run_day,
        window_first=plan.window.first,
        window_last=plan.window.last,
        attempts=0,
        available_at=now,
        requested_by=requested_by,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(run)
            await session.flush()
    except IntegrityError:
        # The partial unique index: the group already has a queued or running run.
        return None
    session.add_all(SyncRunMapping(run_id=run.id, mapping_id=m) for m in plan.mapping_ids)
    await session.flush()
    return run


async def claim(
    session: AsyncSession, *, run_id: int, now: datetime, lease_s: float
) -> Claim | None:
    """``queued → running`` with a fresh lease; None when the run is not queued (any more)."""
    result = await session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id, SyncRun.status == QUEUED, SyncRun.available_at <= now)
        .values(
            status=RUNNING,
            attempts=SyncRun.attempts + 1,
            lease_expires_at=now + timedelta(seconds=lease_s),
            started_at=func.coalesce(SyncRun.started_at, now),
        )
        .returning(SyncRun.group_id, SyncRun.attempts)
    )
    row = result.first()
    return None if row is None else Claim(run_id=run_id, group_id=row[0], attempt=row[1])


def _fenced(claim_: Claim) -> Any:
    return (
        (SyncRun.id == claim_.run_id)
        & (SyncRun.status == RUNNING)
        & (SyncRun.attempts == claim_.attempt)
    )


async def renew_lease(
    session: AsyncSession, *, claim_: Claim, now: datetime, lease_s: float
) -> bool:
    """Extend the lease; False when this worker no longer owns the run."""
    result = await session.execute(
        update(SyncRun)
        .where(_fenced(claim_))
        .values(lease_expires_at=now + timedelta(seconds=lease_s))
        .returning(SyncRun.id)
    )
    return result.first() is not None


async def finish(
    session: AsyncSession,
    *,
    claim_: Claim,
    status: str,
    now: datetime,
    counts: dict[str, Any] | None = None,
    cursor: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> bool:
    """``running → succeeded | failed | cancelled``; False when the run was taken over."""
    result = await session.execute(
        update(SyncRun)
        .where(_fenced(claim_))
        .values(
            status=status,
            finished_at=now,
            lease_expires_at=None,
            counts=counts,
            cursor=cursor,
            error_code=error_code,
            error_message=(error_message or None) and error_message[:500],
        )
        .returning(SyncRun.id)
    )
    return result.first() is not None


async def requeue(
    session: AsyncSession,
    *,
    claim_: Claim,
    available_at: datetime,
    error_code: str,
    error_message: str,
) -> bool:
    """``running → queued`` after a transient error (the job queue retries it)."""
    result = await session.execute(
        update(SyncRun)
        .where(_fenced(claim_))
        .values(
            status=QUEUED,
            lease_expires_at=None,
            available_at=available_at,
            error_code=error_code,
            error_message=error_message[:500],
        )
        .returning(SyncRun.id)
    )
    return result.first() is not None


async def recover_expired(
    session: AsyncSession, *, now: datetime, max_attempts: int
) -> tuple[list[int], list[int]]:
    """Running runs whose lease expired: back to ``queued``, or ``failed`` once their
    attempts are spent. Returns ``(requeued ids, failed ids)``."""
    expired = (SyncRun.status == RUNNING) & (SyncRun.lease_expires_at < now)
    claimed = await session.execute(
        select(SyncRun.id).where(expired).with_for_update(skip_locked=True)
    )
    ids = list(claimed.scalars())
    if not ids:
        return [], []
    expired = expired & SyncRun.id.in_(ids)
    failed = await session.execute(
        update(SyncRun)
        .where(expired & (SyncRun.attempts >= max_attempts))
        .values(
            status=FAILED,
            finished_at=now,
            lease_expires_at=None,
            error_code="lease_expired",
            error_message="the worker stopped renewing its lease too many times",
        )
        .returning(SyncRun.id)
    )
    requeued = await session.execute(
        update(SyncRun)
        .where(expired)
        .values(status=QUEUED, lease_expires_at=None, available_at=now)
        .returning(SyncRun.id)
    )
    return list(requeued.scalars()), list(failed.scalars())


async def promote_waiting(session: AsyncSession, *, now: datetime) -> list[int]:
    """For each group with no queued or running run, its oldest waiting run becomes queued."""
    busy = select(SyncRun.group_id).where(SyncRun.status.in_(ACTIVE_STATUSES))
    oldest = (
        select(func.min(SyncRun.id))
        .where(SyncRun.status == WAITING, SyncRun.group_id.not_in(busy))
        .group_by(SyncRun.group_id)
    )
    candidates = (
        select(SyncRun.id)
        .where(SyncRun.id.in_(oldest))
        .order_by(SyncRun.id)
        .with_for_update(skip_locked=True)
    )
    promoted: list[int] = []
    for run_id in (await session.execute(candidates)).scalars().all():
        try:
            async with session.begin_nested():
                await session.execute(
                    update(SyncRun)
                    .where(SyncRun.id == run_id, SyncRun.status == WAITING)
                    .values(status=QUEUED, available_at=now)
                )
        except IntegrityError:
            continue
        promoted.append(run_id)
    return promoted


async def run_mappings(session: AsyncSession, *, run_id: int) -> list[SyncRunMapping]:
    """The mappings a run covers, by mapping id."""
    query = select(SyncRunMapping).where(SyncRunMapping.run_id == run_id)
    return list((await session.execute(query.order_by(SyncRunMapping.mapping_id))).scalars())


async def queue_waiting(session: AsyncSession, *, run_id: int, now: datetime) -> bool:
    """``waiting → queued`` for one run; False while its group has another run active."""
    try:
        async with session.begin_nested():
            result = await session.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id, SyncRun.status == WAITING)
                .values(status=QUEUED, available_at=now)
                .returning(SyncRun.id)
            )
            return result.first() is not None
    except IntegrityError:
        return False
