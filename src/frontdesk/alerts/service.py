"""Alerts: open and resolve them from the conditions, mail each once, list them.

:func:`evaluate` is one round: in one transaction it opens an alert for every firing
condition that has none open (the partial unique index makes a concurrent round's insert
fail instead of doubling it) and resolves open alerts whose condition cleared; both are
audited (``alert.opened``, ``alert.resolved``). Then every new alert is mailed once to
``FRONTDESK_SUPPORT_EMAIL`` through :func:`frontdesk.alerts.mailing.mail_once`, with a link
(``FRONTDESK_PUBLIC_URL``) to the page that explains it. :class:`AlertLoop` runs rounds in
serve; :func:`list_alerts` reads open and recent alerts a principal may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.alerts.conditions import KIND_WORDS, REQUESTS_PARKED, RUN_FAILED, Firing, firing_now
from frontdesk.alerts.loop import CheckLoop
from frontdesk.alerts.mailing import MailColumns, mail_once
from frontdesk.alerts.models import Alert
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.credentials.notify import SupportNotifier, support_notifier
from frontdesk.logs import get_logger

log = get_logger(__name__)
SYSTEM = Principal.system("alerts")
ALERT_MAIL = MailColumns(Alert.id, Alert.notification, Alert.notified_at)
CLEARED = "condition cleared"


@dataclass
class Round:
    """What one evaluation did: alerts opened, resolved and mailed (ids)."""

    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    mailed: list[int] = field(default_factory=list)


def explain_path(alert: Alert) -> str:
    """The dashboard page that explains ``alert`` (path only)."""
    details = alert.details or {}
    if alert.kind == RUN_FAILED and details.get("groupId") is not None:
        return f"/integrations/groups/{details['groupId']}"
    if alert.kind == REQUESTS_PARKED:
        return "/outbox?state=parked"
    return f"/alerts#alert-{alert.id}"


def explain_url(public_url: str, alert: Alert) -> str:
    """The absolute link of the alert's page, for the mail."""
    return public_url.rstrip("/") + explain_path(alert)


async def _open(session: AsyncSession, clock: Clock, firing: Firing) -> Alert | None:
    alert = Alert(
        kind=firing.kind,
        subject=firing.subject,
        business_id=firing.business_id,
        summary=firing.summary[:300],
        opened_at=clock.now(),
        details=firing.details,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
    except IntegrityError:  # another process opened it a moment ago
        return None
    await record_event(
        session,
        clock=clock,
        actor=SYSTEM,
        action="alert.opened",
        target_type="alert",
        target_id=str(alert.id),
        business_id=alert.business_id,
        details={"kind": alert.kind, "subject": alert.subject},
    )
    log.warning("alerts.opened", alert_id=alert.id, kind=alert.kind, subject=alert.subject)
    return alert


async def _resolve(session: AsyncSession, clock: Clock, alert: Alert) -> None:
    alert.resolved_at = clock.now()
    alert.resolved_by = CLEARED
    await record_event(
        session,
        clock=clock,
        actor=SYSTEM,
        action="alert.resolved",
        target_type="alert",
        target_id=str(alert.id),
        business_id=alert.business_id,
        details={"kind": alert.kind, "subject": alert.subject},
    )
    log.info("alerts.resolved", alert_id=alert.id, kind=alert.kind, subject=alert.subject)


async def evaluate(ctx: AppContext, notifier: SupportNotifier | None = None) -> Round:
    """One round: open what fires, resolve what cleared, mail what is new."""
    notifier = notifier or support_notifier(ctx.settings, ctx.clock)
    done = Round()
    async with ctx.db.transaction() as session:
        firing = await firing_now(session, now=ctx.clock.now(), settings=ctx.settings.alerts)
        current = {(f.kind, f.subject): f for f in firing}
        open_rows = (
            await session.execute(select(Alert).where(Alert.resolved_at.is_(None)))
        ).scalars()
        still_open: set[tuple[str, str]] = set()
        for alert in list(open_rows):
            if (alert.kind, alert.subject) in current:
                still_open.add((alert.kind, alert.subject))
            else:
                await _resolve(session, ctx.clock, alert)
                done.resolved.append(alert.id)
        for key, condition in current.items():
            if key in still_open:
                continue
            opened = await _open(session, ctx.clock, condition)
            if opened is not None:
                done.opened.append(opened.id)
        await session.flush()
    pending = await _unmailed(ctx)
    for alert_id in pending:
        if await _mail(ctx, notifier, alert_id) is not None:
            done.mailed.append(alert_id)
    return done


async def _unmailed(ctx: AppContext) -> list[int]:
    async with ctx.db.reader() as session:
        query = select(Alert.id).where(Alert.notification.is_(None), Alert.resolved_at.is_(None))
        return list((await session.execute(query.order_by(Alert.id))).scalars())


async def _mail(ctx: AppContext, notifier: SupportNotifier, alert_id: int) -> str | None:
    async def compose(session: AsyncSession) -> tuple[str, str] | None:
        alert = await session.get(Alert, alert_id)
        if alert is None:
            return None
        business = await session.get(Business, alert.business_id) if alert.business_id else None
        subject = f"[frontdesk] {KIND_WORDS.get(alert.kind, alert.kind)}: {alert.summary}"
        lines = [
            f"{alert.summary}.",
            "",
            f"Opened: {alert.opened_at:%Y-%m-%d %H:%M} UTC (alert {alert.id}, {alert.kind}).",
        ]
        if business is not None:
            lines.append(f"Business: {business.name} ({business.number}).")
        lines += [
            "",
            f"What it means and what to do: {explain_url(ctx.settings.public_url, alert)}",
            f"Every alert: {ctx.settings.public_url.rstrip('/')}/alerts",
            "",
            "This is the only e-mail about this alert; it resolves by itself once the "
            "condition clears.",
        ]
        return subject[:250], "\n".join(lines) + "\n"

    outcome = await mail_once(ctx, notifier, ALERT_MAIL, alert_id, compose)
    if outcome is not None:
        log.info("alerts.notified", alert_id=alert_id, outcome=outcome)
    return outcome


async def list_alerts(
    session: AsyncSession,
    *,
    principal: Principal,
    now: datetime,
    recent_days: int,
    limit: int = 100,
) -> list[Alert]:
    """Open alerts, then those resolved within ``recent_days``, newest first, that
    ``principal`` may see (a business principal: its own tenant's only)."""
    since = now - timedelta(days=recent_days)
    query = select(Alert).where(or_(Alert.resolved_at.is_(None), Alert.resolved_at >= since))
    if not principal.is_staff:
        children = select(Business.id).where(Business.enterprise_id == principal.business_scope)
        query = query.where(
            or_(Alert.business_id == principal.business_scope, Alert.business_id.in_(children))
        )
    query = query.order_by(Alert.resolved_at.is_not(None), Alert.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


class AlertLoop(CheckLoop):
    """Runs :func:`evaluate` every ``alerts.check_interval_s`` (0: never)."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            "alerts.evaluate",
            interval_s=lambda: ctx.settings.alerts.check_interval_s,
            check=lambda: evaluate(ctx),
        )
        self.ctx = ctx
