"""Troubleshooting a group the way support staff do with log search, in one call.

``check()`` with the stored credentials (a pass marks a pending client activation
active), the remote's own error log (Unity ``LastLogs``,
errors only, newest first, at most 50, text scrubbed by the connector) and the last run's
counts and error. Connectors that can read a server log satisfy :class:`RecentErrors` (the
Unity connector reads ``LastLogs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.activations.holds import activate_on_check
from frontdesk.connectors.base import CheckResult, Connector
from frontdesk.connectors.errors import ServerLogEntry
from frontdesk.context import AppContext
from frontdesk.errors import FrontdeskError
from frontdesk.integrations.groups import get_group, group_properties
from frontdesk.plugins import ConnectorBuilder, Plugins
from frontdesk.sync.models import SyncRun

LOG_LIMIT = 50


@runtime_checkable
class RecentErrors(Protocol):
    """A connector that can read the remote server's recent error log."""

    async def recent_errors(self, limit: int) -> Sequence[ServerLogEntry]: ...


@dataclass
class Diagnosis:
    """What ``frontdesk integration diagnose`` prints."""

    group_id: int
    status: str
    status_reason: str | None
    check: CheckResult
    logs: list[ServerLogEntry] = field(default_factory=list)
    logs_error: str | None = None
    last_run: SyncRun | None = None


async def recent_errors(connector: Connector, limit: int = LOG_LIMIT) -> list[ServerLogEntry]:
    """The remote's recent errors, newest first (empty when the connector has no log)."""
    if isinstance(connector, RecentErrors):
        return list(await connector.recent_errors(limit))
    return []


async def diagnose(
    ctx: AppContext,
    plugins: Plugins,
    *,
    principal: Principal,
    group_id: int,
    connectors: ConnectorBuilder | None = None,
    log_limit: int = LOG_LIMIT,
) -> Diagnosis:
    """Check, read the remote's error log, and find the last run (see the module docstring)."""
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id, principal=principal)
        source, status, reason = group.source.name, group.status, group.status_reason
        properties = await group_properties(session, group_id=group.id, secrets=ctx.secrets)
        newest = select(SyncRun).where(SyncRun.group_id == group.id).order_by(SyncRun.id.desc())
        last_run = (
            await session.execute(newest.where(SyncRun.finished_at.is_not(None)).limit(1))
        ).scalar_one_or_none() or (await session.execute(newest.limit(1))).scalar_one_or_none()
        if last_run is not None:
            session.expunge(last_run)  # keep its loaded values after the reader ends
    connector = (connectors or plugins.connector)(source, properties, ctx.settings)
    try:
        result = await connector.check()
        found = Diagnosis(group_id, status, reason, result, last_run=last_run)
        try:
            found.logs = (await recent_errors(connector, log_limit))[:log_limit]
        except FrontdeskError as error:
            found.logs_error = f"{error.code}: {error.message}"
    finally:
        await connector.aclose()
    await activate_on_check(ctx, group_id=group_id, result=found.check)
    return found
