"""Retention of patient data: check-ins forget their patient after ``retention.patient_data_days``.

What is purged, for every check-in whose appointment day is older than the retention period
(``FRONTDESK_RETENTION__PATIENT_DATA_DAYS``, default 400):

* ``checkins.patient_sealed`` (the encrypted names, email, phone, birth date) → NULL;
* ``checkins.contact_hash`` (the keyed hash of the email) → NULL and ``checkins.patient_id``
  (the EHR's patient number) → ``""``;
* ``review_requests.last_error`` of its review requests → NULL (a remote reply may quote the
  recipient). The ledger itself holds no recipient: it is read from the check-in at send time.

What stays: every decision (status, type, restriction reason, times), the review requests'
states, channels, attempts, times and Message-IDs — the counts and reports need nothing more.
Check-ins whose review request is still ``pending`` or ``sending`` wait for the next run.

The purge runs in batches of short transactions, is idempotent (a purged row no longer
matches) and leaves one ``retention.patient_data_purged`` audit event per run that purged
something, with the counts and the cut-off. It runs daily: the ``retention_purge`` periodic
task on procrastinate workers (:mod:`frontdesk.jobs.registry`), :class:`RetentionLoop` in
``frontdesk serve`` with the embedded runner, and ``frontdesk admin purge-patient-data``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.context import AppContext
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger_models import PENDING, SENDING, ReviewRequest
from frontdesk.logs import get_logger

log = get_logger(__name__)

TASK_NAME = "retention_purge"
PURGE_CRON = "41 2 * * *"  # daily, 02:41 UTC
BATCH = 1000
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one purge did."""

    cutoff_day: str
    checkins: int
    review_requests: int


async def purge_patient_data(
    ctx: AppContext, *, now: datetime | None = None, batch: int = BATCH
) -> PurgeReport:
    """Clear the patient data of check-ins older than the retention period (see module)."""
    days = ctx.settings.retention.patient_data_days
    cutoff = ((now or ctx.clock.now()) - timedelta(days=days)).date()
    open_request = exists().where(
        ReviewRequest.checkin_id == CheckIn.id, ReviewRequest.state.in_((PENDING, SENDING))
    )
    due = (
        select(CheckIn.id)
        .where(
            CheckIn.appointment_day < cutoff,
            or_(
                CheckIn.patient_sealed.is_not(None),
                CheckIn.contact_hash.is_not(None),
                CheckIn.patient_id != "",
            ),
            ~open_request,
        )
        .order_by(CheckIn.id)
        .limit(batch)
    )
    checkins = requests = 0
    while True:
        async with ctx.db.transaction() as session:
            ids = list((await session.execute(due)).scalars())
            if not ids:
                break
            await session.execute(
                update(CheckIn)
                .where(CheckIn.id.in_(ids))
                .values(patient_sealed=None, contact_hash=None, patient_id="")
                .execution_options(synchronize_session=False)
            )
            cleared = await session.execute(
                update(ReviewRequest)
                .where(ReviewRequest.checkin_id.in_(ids), ReviewRequest.last_error.is_not(None))
                .values(last_error=None)
                .execution_options(synchronize_session=False)
            )
            checkins += len(ids)
            requests += int(getattr(cleared, "rowcount", 0) or 0)
        if len(ids) < batch:
            break
    report = PurgeReport(cutoff_day=cutoff.isoformat(), checkins=checkins, review_requests=requests)
    if checkins:
        async with ctx.db.transaction() as session:
            await record_event(
                session,
                clock=ctx.clock,
                actor=Principal.system("retention"),
                action="retention.patient_data_purged",
                target_type="checkins",
                target_id=f"before:{report.cutoff_day}",
                business_id=None,
                details={
                    "retentionDays": days,
                    "appointmentsBefore": report.cutoff_day,
                    "checkins": checkins,
                    "reviewRequestErrorsCleared": requests,
                },
            )
    log.info(
        "retention.patient_data_purged",
        checkins=checkins,
        review_requests=requests,
        before=report.cutoff_day,
    )
    return report


class RetentionLoop:
    """Runs :func:`purge_patient_data` shortly after start and then daily (embedded runner)."""

    def __init__(self, ctx: AppContext, *, first_delay_s: float = 60.0) -> None:
        self.ctx = ctx
        self.first_delay_s = first_delay_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="retention-purge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        await asyncio.sleep(self.first_delay_s)
        while True:
            try:
                await purge_patient_data(self.ctx)
            except Exception as error:  # keep the schedule; the next day may succeed
                log.warning("retention.purge_failed", error_type=type(error).__name__)
            await asyncio.sleep(DAY_S)
