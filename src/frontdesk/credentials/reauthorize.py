"""Re-authorise a group: test the new credentials, store them, reactivate, backfill.

The safer order: ``check()`` runs with the group's properties overlaid by the **new** ones
*before* anything is stored. Only when it passes are the new properties stored, the group
set ``active`` (when it was stopped: ``unauthorized``, or blocked for a missing licence),
the open incident resolved and, by default, the days missed since the incident's
``missed_from`` up to yesterday backfilled — all in one transaction. When the check fails
nothing is stored (the old values stay, the group stays stopped, the incident stays open)
and the attempt is audited with its outcome. Secret values are never audited or logged.
An empty property list re-checks the stored credentials (e.g. after a licence change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.activations.holds import activate_on_check
from frontdesk.audit.service import record_event
from frontdesk.connectors.base import CheckResult
from frontdesk.context import AppContext
from frontdesk.credentials.incidents import blocked_by_license, open_incident, resolve
from frontdesk.credentials.models import CredentialIncident
from frontdesk.integrations import properties as props
from frontdesk.integrations.groups import (
    PropertyInput,
    get_group,
    group_properties,
    set_group_properties,
    set_group_status,
)
from frontdesk.integrations.mappings import list_mappings
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.integrations.outbound_properties import check_outbound_properties
from frontdesk.logs import get_logger
from frontdesk.plugins import ConnectorBuilder, Plugins
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.sync import service as sync_service
from frontdesk.sync.models import SyncRun
from frontdesk.sync.service import MAX_BACKFILL_DAYS
from frontdesk.sync.windows import local_day

log = get_logger(__name__)

FIELD = "integrationGroupProperties"


@dataclass
class Reauthorization:
    """What a re-authorisation did."""

    group_id: int
    check: CheckResult
    stored: bool
    reactivated: bool
    status: str
    incident_id: int | None = None
    runs: list[SyncRun] = field(default_factory=list)


async def run_check(
    ctx: AppContext,
    plugins: Plugins,
    *,
    source: str,
    properties: Mapping[str, str],
    connectors: ConnectorBuilder | None = None,
) -> CheckResult:
    """``check()`` of a connector built from ``properties`` (closed afterwards)."""
    connector = (connectors or plugins.connector)(source, properties, ctx.settings)
    try:
        return await connector.check()
    finally:
        await connector.aclose()


async def reauthorize(
    ctx: AppContext,
    plugins: Plugins,
    *,
    principal: Principal,
    group_id: int,
    properties: Sequence[PropertyInput],
    backfill: bool = True,
    connectors: ConnectorBuilder | None = None,
) -> Reauthorization:
    """See the module docstring. 404 for another tenant's group; 422 for invalid values."""
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id, principal=principal)
        source = group.source.name
        checked = props.check_properties(
            [(p.key, p.value, p.is_secure) for p in properties],
            level="group",
            source=plugins.spec(source),
            plugins=plugins,
            field=FIELD,
        )
        await check_outbound_properties(
            checked, principal=principal, outbound=_outbound(ctx), field=FIELD
        )
        current = await group_properties(session, group_id=group.id, secrets=ctx.secrets)
    effective = {**current, **{p.key: p.value for p in properties}}
    result = await run_check(
        ctx, plugins, source=source, properties=effective, connectors=connectors
    )
    await activate_on_check(ctx, group_id=group_id, result=result)  # before any backfill run
    async with ctx.db.transaction() as session:
        group = await get_group(session, group_id=group_id, principal=principal)
        incident = await open_incident(session, group_id=group.id)
        outcome = Reauthorization(
            group_id=group.id,
            check=result,
            stored=False,
            reactivated=False,
            status=group.status,
            incident_id=incident.id if incident else None,
        )
        if result.ok:
            await _apply(
                ctx, plugins, session, principal, group, incident, properties, backfill, outcome
            )
        await record_event(
            session,
            clock=ctx.clock,
            actor=principal,
            action="integration_group.reauthorize",
            target_type="integration_group",
            target_id=str(group.id),
            business_id=group.business_id,
            details={
                "check": result.status.value,
                "reason": result.reason,
                "missingActions": list(result.missing_actions),
                "propertyKeys": [p.key for p in properties],
                "stored": outcome.stored,
                "reactivated": outcome.reactivated,
                "incidentId": outcome.incident_id,
                "runIds": [r.id for r in outcome.runs],
            },
        )
    log.info(
        "credentials.reauthorize",
        group_id=group_id,
        check=result.status.value,
        reason=result.reason,
        reactivated=outcome.reactivated,
        runs=len(outcome.runs),
    )
    return outcome


async def _apply(
    ctx: AppContext,
    plugins: Plugins,
    session: AsyncSession,
    principal: Principal,
    group: IntegrationGroup,
    incident: CredentialIncident | None,
    properties: Sequence[PropertyInput],
    backfill: bool,
    outcome: Reauthorization,
) -> None:
    if properties:
        await set_group_properties(
            session,
            principal=principal,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            group_id=group.id,
            properties=properties,
            outbound=_outbound(ctx),
        )
        outcome.stored = True
    stopped = group.status == "unauthorized" or blocked_by_license(group)
    if stopped:
        await set_group_status(
            session,
            actor=principal,
            clock=ctx.clock,
            group_id=group.id,
            status="active",
            reason=None,
        )
        outcome.reactivated = True
    outcome.status = group.status
    if incident is None or group.status != "active":
        return
    await resolve(session, incident=incident, now=ctx.clock.now(), by=principal.label)
    if backfill:
        window = await missed_days(ctx, session, group=group, missed_from=incident.missed_from)
        if window is not None:
            outcome.runs = await sync_service.request_backfill(
                session,
                principal=principal,
                clock=ctx.clock,
                group_id=group.id,
                first=window[0],
                last=window[1],
            )


async def missed_days(
    ctx: AppContext, session: AsyncSession, *, group: IntegrationGroup, missed_from: date
) -> tuple[date, date] | None:
    """``missed_from`` .. yesterday (the earliest "today" of the group's active mappings,
    minus one); None when nothing is missed or no mapping is active."""
    active = [m for m in await list_mappings(session, group_id=group.id) if m.active]
    if not active:
        return None
    now = ctx.clock.now()
    last = min(local_day(now, m.timezone) for m in active) - timedelta(days=1)
    first = max(missed_from, last - timedelta(days=MAX_BACKFILL_DAYS - 1))
    return (first, last) if first <= last else None


def _outbound(ctx: AppContext) -> OutboundPolicy:
    return OutboundPolicy.from_settings(ctx.settings)
