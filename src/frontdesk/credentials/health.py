"""The health of every integration group, and the periodic expiry-warning check.

:func:`group_health` reads, per visible group: status and reason, the last run, the next
scheduled run, the PM password's age, the expiry warnings and the open incident.
:func:`check_warnings` records each warning in the audit log once per group per day and
e-mails the support address once per warning (``credential_warnings`` is the dedupe
table); :class:`WarningLoop` runs it every ``check_interval_s`` in ``frontdesk serve``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.alerts.loop import CheckLoop
from frontdesk.alerts.mailing import MailColumns, mail_once
from frontdesk.audit.service import record_event
from frontdesk.context import AppContext
from frontdesk.credentials.expiry import (
    ExpiryWarning,
    expiry_warnings,
    password_age_days,
    password_row,
)
from frontdesk.credentials.incidents import SYSTEM
from frontdesk.credentials.models import CredentialIncident, CredentialWarning
from frontdesk.credentials.notify import SupportNotifier, support_notifier
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger_models import PARKED, ReviewRequest
from frontdesk.integrations.groups import can_see_group
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.logs import get_logger
from frontdesk.settings import Settings
from frontdesk.sync.models import SyncRun

log = get_logger(__name__)


@dataclass
class GroupHealth:
    """One row of the health table."""

    group_id: int
    business_number: int
    business_name: str
    source: str
    status: str
    status_reason: str | None
    last_run_status: str | None
    last_run_at: datetime | None
    next_run_at: datetime | None
    password_set_at: datetime | None
    password_age_days: int | None
    warnings: list[ExpiryWarning] = field(default_factory=list)
    incident_id: int | None = None
    incident_reason: str | None = None
    parked_requests: int = 0
    """Review requests parked for an operator (outcome unknown after a crash, attempts spent,
    configuration): ``frontdesk outbox --state parked`` lists them with their Message-IDs."""


def warnings_of(
    group: IntegrationGroup, *, now: datetime, settings: Settings
) -> list[ExpiryWarning]:
    """The expiry warnings of ``group`` at ``now``."""
    row = password_row(group)
    return expiry_warnings(
        now=now,
        password_set_at=row.updated_at if row is not None else None,
        service_expire_on=settings.unity.service_credentials_expire_on,
        settings=settings.credentials,
        uses_service_credentials=group.source.uses_app_credentials,
    )


async def _visible_groups(
    session: AsyncSession, principal: Principal | None, group_id: int | None = None
) -> list[IntegrationGroup]:
    query = (
        select(IntegrationGroup)
        .where(IntegrationGroup.removed_at.is_(None))
        .order_by(IntegrationGroup.id)
    )
    if group_id is not None:
        query = query.where(IntegrationGroup.id == group_id)
    groups = (await session.execute(query)).scalars().all()
    return [g for g in groups if principal is None or can_see_group(principal, g)]


async def group_health(
    session: AsyncSession,
    *,
    principal: Principal | None,
    settings: Settings,
    now: datetime,
    group_id: int | None = None,
) -> list[GroupHealth]:
    """Health rows of the groups ``principal`` may see (None: all), by group id."""
    groups = await _visible_groups(session, principal, group_id)
    ids = [g.id for g in groups]
    last_runs: dict[int, SyncRun] = {}
    next_runs: dict[int, datetime] = {}
    open_incidents: dict[int, CredentialIncident] = {}
    parked: dict[int, int] = {}
    if ids:
        counted = await session.execute(
            select(CheckIn.group_id, func.count(ReviewRequest.id))
            .join(CheckIn, CheckIn.id == ReviewRequest.checkin_id)
            .where(CheckIn.group_id.in_(ids), ReviewRequest.state == PARKED)
            .group_by(CheckIn.group_id)
        )
        parked = {g: n for g, n in counted}
        newest = (
            select(func.max(SyncRun.id))
            .where(SyncRun.group_id.in_(ids), SyncRun.finished_at.is_not(None))
            .group_by(SyncRun.group_id)
        )
        for run in (await session.execute(select(SyncRun).where(SyncRun.id.in_(newest)))).scalars():
            last_runs[run.group_id] = run
        rows = await session.execute(
            select(IntegrationMapping.group_id, func.min(IntegrationMapping.next_run_at))
            .where(IntegrationMapping.group_id.in_(ids), IntegrationMapping.active.is_(True))
            .group_by(IntegrationMapping.group_id)
        )
        next_runs = {g: at for g, at in rows}
        incidents = await session.execute(
            select(CredentialIncident).where(
                CredentialIncident.group_id.in_(ids), CredentialIncident.resolved_at.is_(None)
            )
        )
        open_incidents = {i.group_id: i for i in incidents.scalars()}
    found: list[GroupHealth] = []
    for group in groups:
        password = password_row(group)
        set_at = password.updated_at if password is not None else None
        last = last_runs.get(group.id)
        incident = open_incidents.get(group.id)
        found.append(
            GroupHealth(
                group_id=group.id,
                business_number=group.business.number,
                business_name=group.business.name,
                source=group.source.name,
                status=group.status,
                status_reason=group.status_reason,
                last_run_status=last.status if last else None,
                last_run_at=last.finished_at if last else None,
                next_run_at=next_runs.get(group.id) if group.status == "active" else None,
                password_set_at=set_at,
                password_age_days=password_age_days(set_at, now),
                warnings=warnings_of(group, now=now, settings=settings),
                incident_id=incident.id if incident else None,
                incident_reason=incident.reason if incident else None,
                parked_requests=parked.get(group.id, 0),
            )
        )
    return found


@dataclass
class WarningReport:
    """What one check did: warnings audited today, e-mails sent (or tried)."""

    audited: list[tuple[int, str]] = field(default_factory=list)
    emailed: list[tuple[int, str]] = field(default_factory=list)


async def check_warnings(ctx: AppContext, notifier: SupportNotifier | None = None) -> WarningReport:
    """Record today's warnings (audit, once per group per day) and e-mail new ones once."""
    notifier = notifier or support_notifier(ctx.settings, ctx.clock)
    now = ctx.clock.now()
    report = WarningReport()
    async with ctx.db.transaction() as session:
        for group in await _visible_groups(session, None):
            for warning in warnings_of(group, now=now, settings=ctx.settings):
                if await _audit_once_a_day(session, ctx, group, warning, now):
                    report.audited.append((group.id, warning.kind))
        pending = (
            await session.execute(
                select(CredentialWarning.id).where(CredentialWarning.notification.is_(None))
            )
        ).scalars()
        pending_ids = list(pending)
    for warning_id in pending_ids:
        sent = await _email_once(ctx, notifier, warning_id)
        if sent is not None:
            report.emailed.append(sent)
    return report


async def _audit_once_a_day(
    session: AsyncSession,
    ctx: AppContext,
    group: IntegrationGroup,
    warning: ExpiryWarning,
    now: datetime,
) -> bool:
    today = now.date()
    row = (
        await session.execute(
            select(CredentialWarning).where(
                CredentialWarning.group_id == group.id,
                CredentialWarning.kind == warning.kind,
                CredentialWarning.basis == warning.basis,
            )
        )
    ).scalar_one_or_none()
    if row is not None and row.audited_on >= today:
        return False
    if row is None:
        row = CredentialWarning(
            group_id=group.id,
            kind=warning.kind,
            basis=warning.basis,
            first_seen_at=now,
            audited_on=today,
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another process recorded it first
            return False
    else:
        row.audited_on = today
    await record_event(
        session,
        clock=ctx.clock,
        actor=SYSTEM,
        action="integration_group.credentials.warning",
        target_type="integration_group",
        target_id=str(group.id),
        business_id=group.business_id,
        details={"kind": warning.kind, "daysLeft": warning.days_left, "message": warning.message},
    )
    log.warning(
        "credentials.warning", group_id=group.id, kind=warning.kind, days_left=warning.days_left
    )
    return True


WARNING_MAIL = MailColumns(
    CredentialWarning.id, CredentialWarning.notification, CredentialWarning.emailed_at
)


async def _email_once(
    ctx: AppContext, notifier: SupportNotifier, warning_id: int
) -> tuple[int, str] | None:
    sent: list[tuple[int, str]] = []

    async def compose(session: AsyncSession) -> tuple[str, str] | None:
        row = await session.get(CredentialWarning, warning_id)
        group = await session.get(IntegrationGroup, row.group_id) if row else None
        if row is None or group is None:
            return None
        current = next(
            (
                w
                for w in warnings_of(group, now=ctx.clock.now(), settings=ctx.settings)
                if w.kind == row.kind and w.basis == row.basis
            ),
            None,
        )
        kind = row.kind
        message = current.message if current else f"{kind.replace('_', ' ')} ({row.basis})"
        subject = f"[frontdesk] Integration group {group.id} ({group.business.name}): {message}"
        body = (
            f"Integration group {group.id} of {group.business.name} "
            f"(business {group.business.number}):\n\n{message}.\n\n"
            "Renew it before it expires, then re-authorise the group:\n"
            f"  frontdesk integration reauthorize --group {group.id}\n"
            f"Health of every group: frontdesk integration health\n"
        )
        sent.append((group.id, kind))
        return subject, body

    await mail_once(ctx, notifier, WARNING_MAIL, warning_id, compose)
    return sent[0] if sent else None


class WarningLoop(CheckLoop):
    """Runs :func:`check_warnings` every ``credentials.check_interval_s`` (0: never)."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            "credentials.warning_check",
            interval_s=lambda: ctx.settings.credentials.check_interval_s,
            check=lambda: check_warnings(ctx),
        )
        self.ctx = ctx
