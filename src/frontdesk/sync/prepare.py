"""Everything a claimed run needs before it talks to the EHR, read in one short transaction.

The mappings the run covers get their rule settings frozen on the first claim
(``sync_run_mappings.rules``): a resumed attempt decides with the same settings, and every
decision can later be explained with the settings it was made with. Mappings deactivated
since the run was created drop out of its scope.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.activations.holds import HELD, hold_message, hold_of
from frontdesk.clock import Clock
from frontdesk.connectors.base import Window
from frontdesk.connectors.spec import SourceRegistry
from frontdesk.engagement.optouts import contact_pepper
from frontdesk.engagement.rules import MappingRules
from frontdesk.integrations import properties as props
from frontdesk.integrations.groups import get_group, match_key
from frontdesk.integrations.mappings import effective_properties, list_mappings
from frontdesk.security.secrets import SecretBox
from frontdesk.settings import SyncSettings
from frontdesk.sync.batch import RunScope
from frontdesk.sync.models import SUCCEEDED, SyncRun, SyncRunMapping
from frontdesk.sync.routing import mapping_rules
from frontdesk.sync.runs import run_mappings
from frontdesk.sync.windows import local_day


@dataclass(frozen=True)
class PreparedRun:
    """A claimed run, ready to read: window, cursor, scope, routing, connector settings."""

    scope: RunScope
    window: Window
    run_day: date
    cursor: str | None
    source_name: str
    connector_properties: dict[str, str]
    active: list[tuple[int, str]]
    in_scope: list[MappingRules]
    pepper: bytes


@dataclass(frozen=True)
class NotRunnable:
    """Why a claimed run must stop before reading (group inactive, held by a client
    activation not yet active, nothing left in scope)."""

    code: str
    message: str


async def prepare_run(
    session: AsyncSession,
    *,
    sources: SourceRegistry,
    run_id: int,
    settings: SyncSettings,
    secrets: SecretBox,
    clock: Clock,
) -> PreparedRun | NotRunnable:
    """Load and freeze what the run needs (see the module docstring)."""
    run = await session.get(SyncRun, run_id)
    assert run is not None
    group = await get_group(session, group_id=run.group_id)
    if group.status != "active":
        return NotRunnable(
            "group_" + group.status, f"integration group {group.id} is {group.status}"
        )
    held = await hold_of(session, business_id=group.business_id, source_id=group.source_id)
    if held is not None:  # the vendor has not activated the client yet: no call, no incident
        return NotRunnable(HELD, hold_message(held))
    spec = sources.find(group.source.name)
    if spec is None:
        return NotRunnable(
            "source_not_registered",
            f"no connector is registered here for the source {group.source.name}",
        )
    key = match_key(group)
    mappings = {m.id: m for m in await list_mappings(session, group_id=group.id)}
    active = [
        (m.id, next((p.value or "" for p in m.properties if p.key == key), ""))
        for m in mappings.values()
        if m.active
    ]
    in_scope: list[MappingRules] = []
    for row in await run_mappings(session, run_id=run_id):
        mapping = mappings.get(row.mapping_id)
        if mapping is None or not mapping.active:
            continue
        if row.rules is None:
            rules = mapping_rules(
                mapping,
                properties=effective_properties(mapping, secrets=secrets),
                match_key=key,
                source=spec.spec,
                settings=settings,
            )
            if run.kind == "backfill":  # the ``too_old`` rule: ask only about recent visits
                today = local_day(clock.now(), mapping.timezone)
                oldest = today - timedelta(days=settings.backfill_request_max_age_days)
                rules = replace(rules, oldest_request_day=oldest)
            row.rules = rules.to_json()
        in_scope.append(MappingRules.from_json(row.rules))
    if not in_scope:
        return NotRunnable("no_active_mapping", f"run {run_id} covers no active mapping")
    pepper = await contact_pepper(session, secrets=secrets, clock=clock)
    assert pepper is not None
    window = Window(run.window_first, run.window_last)
    scope = RunScope(
        run_id=run.id,
        group_id=group.id,
        source_id=group.source_id,
        trigger_id=min((t.trigger_id for t in group.triggers), default=None),
        scope_business_id=group.business_id,
        beta=group.source.lifecycle == "beta",
    )
    return PreparedRun(
        scope=scope,
        window=window,
        run_day=run.run_day,
        cursor=await _reusable_cursor(
            session, run=run, mapping_ids={r.mapping_id for r in in_scope}
        ),
        source_name=group.source.name,
        connector_properties={p.key: props.read_value(p, secrets) for p in group.properties},
        active=active,
        in_scope=in_scope,
        pepper=pepper,
    )


async def _reusable_cursor(session: AsyncSession, *, run: SyncRun, mapping_ids: set[int]) -> Any:
    """The cursor of the group's last succeeded run of the same window, if it covered at
    least these mappings (a narrower run's cursor would hide rows this run must see)."""
    previous = (
        await session.execute(
            select(SyncRun)
            .where(
                SyncRun.group_id == run.group_id,
                SyncRun.status == SUCCEEDED,
                SyncRun.window_first == run.window_first,
                SyncRun.window_last == run.window_last,
                SyncRun.cursor.is_not(None),
            )
            .order_by(SyncRun.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if previous is None:
        return None
    covered = set(
        (
            await session.execute(
                select(SyncRunMapping.mapping_id).where(SyncRunMapping.run_id == previous.id)
            )
        ).scalars()
    )
    return previous.cursor if mapping_ids <= covered else None
