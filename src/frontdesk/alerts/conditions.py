"""What is wrong right now: the conditions alerts are raised for.

Each function reads the database and returns one :class:`Firing` per subject whose
condition holds at ``now``. :mod:`frontdesk.alerts.service` opens an alert for a firing
without an open one and resolves open alerts that no longer fire.

- ``run_failed`` (subject ``group:<id>``): an active group's newest finished run failed.
  Runs stopped for credentials or a missing licence are left out: their incident and mail
  are the credential incidents' (``docs/credentials.md``).
- ``requests_parked`` (``business:<id>``): review requests of a practice parked (waiting for
  an operator) for longer than ``alerts.parked_after_s``.
- ``component_quiet`` (``component:<name>``): no instance of the MLLP listener or job runner
  has beaten for ``alerts.quiet_after_s`` while one did not stop cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.alerts.heartbeat import COMPONENT_WORDS
from frontdesk.alerts.models import ComponentHeartbeat
from frontdesk.businesses.models import Business
from frontdesk.connectors.errors import MissingLicense
from frontdesk.engagement.ledger_models import PARKED, ReviewRequest
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.settings import AlertSettings
from frontdesk.sync.models import FAILED, SyncRun

RUN_FAILED = "run_failed"
REQUESTS_PARKED = "requests_parked"
COMPONENT_QUIET = "component_quiet"
KINDS = (RUN_FAILED, REQUESTS_PARKED, COMPONENT_QUIET)
KIND_WORDS = {
    RUN_FAILED: "Sync run failed",
    REQUESTS_PARKED: "Review requests parked",
    COMPONENT_QUIET: "Listener or worker quiet",
}
CREDENTIAL_STOPS = ("unauthorized", MissingLicense.code)
"""Run error codes the credential incidents already mail about."""


@dataclass(frozen=True)
class Firing:
    """A condition that holds now for one subject."""

    kind: str
    subject: str
    business_id: int | None
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


async def failed_runs(session: AsyncSession) -> list[Firing]:
    """Active groups whose newest finished run failed (not for credentials)."""
    newest = (
        select(func.max(SyncRun.id))
        .where(SyncRun.finished_at.is_not(None))
        .group_by(SyncRun.group_id)
    )
    rows = await session.execute(
        select(SyncRun, IntegrationGroup.business_id, Business.name)
        .join(IntegrationGroup, IntegrationGroup.id == SyncRun.group_id)
        .join(Business, Business.id == IntegrationGroup.business_id)
        .where(
            SyncRun.id.in_(newest),
            SyncRun.status == FAILED,
            IntegrationGroup.status == "active",
            func.coalesce(SyncRun.error_code, "").not_in(CREDENTIAL_STOPS),
        )
        .order_by(SyncRun.group_id)
    )
    return [
        Firing(
            kind=RUN_FAILED,
            subject=f"group:{run.group_id}",
            business_id=business_id,
            summary=f"Integration group {run.group_id} ({name}): the last sync run failed "
            f"({run.error_code or 'no error code'})",
            details={
                "groupId": run.group_id,
                "runId": run.id,
                "errorCode": run.error_code,
                "message": (run.error_message or "")[:300],
            },
        )
        for run, business_id, name in rows
    ]


async def parked_requests(
    session: AsyncSession, *, now: datetime, settings: AlertSettings
) -> list[Firing]:
    """Practices with review requests parked longer than ``parked_after_s``."""
    since = now - timedelta(seconds=settings.parked_after_s)
    rows = await session.execute(
        select(
            ReviewRequest.scope_business_id,
            Business.name,
            func.count(ReviewRequest.id),
            func.min(ReviewRequest.updated_at),
        )
        .join(Business, Business.id == ReviewRequest.scope_business_id)
        .where(ReviewRequest.state == PARKED, ReviewRequest.updated_at <= since)
        .group_by(ReviewRequest.scope_business_id, Business.name)
        .order_by(ReviewRequest.scope_business_id)
    )
    return [
        Firing(
            kind=REQUESTS_PARKED,
            subject=f"business:{business_id}",
            business_id=business_id,
            summary=f"{count} review request{'s' if count != 1 else ''} of {name} parked for "
            f"more than {_duration(settings.parked_after_s)}",
            details={"count": count, "oldestParkedAt": oldest.isoformat() if oldest else None},
        )
        for business_id, name, count, oldest in rows
    ]


async def quiet_components(
    session: AsyncSession, *, now: datetime, settings: AlertSettings
) -> list[Firing]:
    """Components with heartbeat rows none of which moved within ``quiet_after_s``."""
    since = now - timedelta(seconds=settings.quiet_after_s)
    rows = await session.execute(
        select(
            ComponentHeartbeat.component,
            func.max(ComponentHeartbeat.beat_at),
            func.count(),
        )
        .group_by(ComponentHeartbeat.component)
        .having(func.max(ComponentHeartbeat.beat_at) < since)
        .order_by(ComponentHeartbeat.component)
    )
    return [
        Firing(
            kind=COMPONENT_QUIET,
            subject=f"component:{component}",
            business_id=None,
            summary=f"The {COMPONENT_WORDS.get(component, component)} has been quiet since "
            f"{last:%Y-%m-%d %H:%M} UTC",
            details={"component": component, "lastBeatAt": last.isoformat(), "instances": count},
        )
        for component, last, count in rows
    ]


async def firing_now(
    session: AsyncSession, *, now: datetime, settings: AlertSettings
) -> list[Firing]:
    """Every condition that holds at ``now``."""
    return [
        *await failed_runs(session),
        *await parked_requests(session, now=now, settings=settings),
        *await quiet_components(session, now=now, settings=settings),
    ]


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
