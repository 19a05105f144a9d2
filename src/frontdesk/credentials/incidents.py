"""Incidents: a group stopped because a human must act, and the one e-mail about it.

The sync engine calls :func:`record_stop` in the transaction that marks the group
``unauthorized`` (rejected credentials) or blocks it for a missing licence; after that
transaction commits it calls :func:`notify_incidents`, which mails the support address once
per incident. "Once" holds across processes: an incident is claimed for its e-mail with a
conditional ``UPDATE`` before anything is sent, and a second failure while an incident is
open opens nothing (one open incident per group, a partial unique index).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.alerts.mailing import MailColumns, mail_once
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.credentials.models import CredentialIncident
from frontdesk.credentials.notify import SupportNotifier, support_notifier
from frontdesk.integrations.groups import get_group, set_group_status
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.logs import get_logger
from frontdesk.sync.models import SyncRun

log = get_logger(__name__)

MISSING_LICENSE = "missing_license"
LICENSE_PREFIX = "missing licence: "
"""``status_reason`` of a group blocked (``inactive``) for a missing licence."""
SYSTEM = Principal.system("credentials")
INCIDENT_MAIL = MailColumns(
    CredentialIncident.id, CredentialIncident.notification, CredentialIncident.notified_at
)

REASON_WORDS: dict[str, str] = {
    "wrong_pm_password": "wrong PM password",
    "pm_password_expired": "PM password expired",
    "wrong_service_credentials": "Unity service credentials rejected",
    "pm_account_locked": "PM account locked",
    "forbidden": "access forbidden",
    "unauthorized": "credentials rejected",
    MISSING_LICENSE: "missing licence",
}


def reason_words(code: str) -> str:
    """Plain words for an incident reason code."""
    return REASON_WORDS.get(code, code.replace("_", " "))


async def open_incident(session: AsyncSession, *, group_id: int) -> CredentialIncident | None:
    """The group's open incident, if any."""
    query = select(CredentialIncident).where(
        CredentialIncident.group_id == group_id, CredentialIncident.resolved_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def record_stop(
    session: AsyncSession,
    *,
    clock: Clock,
    group_id: int,
    run_id: int | None,
    reason: str,
    message: str,
    missing_action: str | None = None,
) -> CredentialIncident | None:
    """Open an incident for a stopped group (None: one is already open, nothing new).

    ``missed_from`` is the first day of the failed run's window (today's date without a
    run). ``details`` carry the run id, the error's message and the missing action.
    """
    if await open_incident(session, group_id=group_id) is not None:
        return None
    missed_from: date = clock.now().date()
    if run_id is not None:
        run = await session.get(SyncRun, run_id)
        if run is not None:
            missed_from = run.window_first
    details: dict[str, Any] = {"runId": run_id, "message": message[:300]}
    if missing_action is not None:
        details["missingAction"] = missing_action
    incident = CredentialIncident(
        group_id=group_id,
        reason=reason[:40],
        opened_at=clock.now(),
        missed_from=missed_from,
        details=details,
    )
    try:
        async with session.begin_nested():
            session.add(incident)
    except IntegrityError:  # another process opened one a moment ago
        return None
    group = await get_group(session, group_id=group_id)
    await record_event(
        session,
        clock=clock,
        actor=SYSTEM,
        action="integration_group.incident.opened",
        target_type="integration_group",
        target_id=str(group_id),
        business_id=group.business_id,
        details={"incidentId": incident.id, "reason": incident.reason, "runId": run_id},
    )
    log.warning("credentials.incident.opened", group_id=group_id, reason=incident.reason)
    return incident


async def block_for_license(
    session: AsyncSession, *, clock: Clock, group_id: int, run_id: int | None, action: str
) -> CredentialIncident | None:
    """A missing licence: the group becomes ``inactive`` (``missing licence: <action>``) so
    the dispatcher leaves it alone, and an incident is opened."""
    await set_group_status(
        session,
        actor=SYSTEM,
        clock=clock,
        group_id=group_id,
        status="inactive",
        reason=f"{LICENSE_PREFIX}{action}",
    )
    return await record_stop(
        session,
        clock=clock,
        group_id=group_id,
        run_id=run_id,
        reason=MISSING_LICENSE,
        message=f"the licence does not allow the action {action}",
        missing_action=action,
    )


def blocked_by_license(group: IntegrationGroup) -> bool:
    """Whether the group is inactive because of a missing licence (not by a person)."""
    return group.status == "inactive" and (group.status_reason or "").startswith(LICENSE_PREFIX)


async def resolve(
    session: AsyncSession, *, incident: CredentialIncident, now: datetime, by: str
) -> None:
    incident.resolved_at = now
    incident.resolved_by = by[:120]
    await session.flush()


def _mail(incident: CredentialIncident, group: IntegrationGroup) -> tuple[str, str]:
    business = group.business
    words = reason_words(incident.reason)
    state = "blocked" if incident.reason == MISSING_LICENSE else "unauthorized"
    subject = f"[frontdesk] Integration group {group.id} ({business.name}) is {state}: {words}"
    action = (incident.details or {}).get("missingAction")
    lines = [
        f"Integration group {group.id} of {business.name} (business {business.number}) "
        f"stopped on {incident.opened_at:%Y-%m-%d %H:%M} UTC.",
        "",
        f"Reason: {words} ({incident.reason}).",
    ]
    if action:
        lines.append(f"Missing licence for the action: {action}.")
    lines += [
        f"Days not synced since: {incident.missed_from.isoformat()}.",
        "",
        "The group does not run until this is corrected. Then re-authorise it:",
        f"  frontdesk integration reauthorize --group {group.id}",
        f"  or POST /integration/businessintegrationgroup/id/{group.id}/reauthorize",
        "The missed days are backfilled after a successful re-authorisation.",
        "",
        f"Troubleshooting: frontdesk integration diagnose --group {group.id}",
    ]
    return subject, "\n".join(lines) + "\n"


async def notify_incidents(ctx: AppContext, notifier: SupportNotifier | None = None) -> list[int]:
    """E-mail every incident not yet notified (claimed first: at most one e-mail each);
    returns the incident ids handled."""
    notifier = notifier or support_notifier(ctx.settings, ctx.clock)
    async with ctx.db.reader() as session:
        pending = list(
            (
                await session.execute(
                    select(CredentialIncident.id).where(
                        CredentialIncident.notification.is_(None),
                        CredentialIncident.resolved_at.is_(None),
                    )
                )
            ).scalars()
        )
    handled: list[int] = []
    for incident_id in pending:

        async def compose(session: AsyncSession, incident_id: int = incident_id) -> tuple[str, str]:
            incident = await session.get(CredentialIncident, incident_id)
            assert incident is not None
            return _mail(incident, await get_group(session, group_id=incident.group_id))

        outcome = await mail_once(ctx, notifier, INCIDENT_MAIL, incident_id, compose)
        if outcome is None:  # another process claimed it
            continue
        log.info("credentials.incident.notified", incident_id=incident_id, outcome=outcome)
        handled.append(incident_id)
    return handled
