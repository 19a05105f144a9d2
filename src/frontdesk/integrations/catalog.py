"""The catalog: integration sources and their triggers (data seeded by migration)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.connectors.spec import SourceSpec
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.integrations.models import (
    IntegrationSource,
    IntegrationTrigger,
    IntegrationTriggerType,
)

CATALOG_LOCK = 0x46444341  # "FDCA": the catalog upsert's advisory lock key


@dataclass(frozen=True)
class TriggerRef:
    """A trigger as a request names it: ``{"triggerId", "triggerTypeId"}``."""

    trigger_id: int
    trigger_type_id: int | None = None


async def list_sources(session: AsyncSession) -> Sequence[IntegrationSource]:
    return (
        (await session.execute(select(IntegrationSource).order_by(IntegrationSource.id)))
        .scalars()
        .all()
    )


async def get_source(
    session: AsyncSession, *, source_id: int, field: str = "integrationSourceId"
) -> IntegrationSource:
    """The source, or 404 naming ``field``."""
    source = await session.get(IntegrationSource, source_id)
    if source is None:
        raise NotFound(f"integration source {source_id} not found", field=field)
    return source


async def list_triggers(session: AsyncSession, *, source_id: int) -> Sequence[IntegrationTrigger]:
    """Every trigger of a source (404 ``sourceId`` when the source is unknown)."""
    await get_source(session, source_id=source_id, field="sourceId")
    query = select(IntegrationTrigger).where(IntegrationTrigger.source_id == source_id)
    return (await session.execute(query.order_by(IntegrationTrigger.id))).scalars().all()


async def resolve_triggers(
    session: AsyncSession,
    *,
    source: IntegrationSource,
    refs: Sequence[TriggerRef],
    field: str = "integrationGroupTriggers",
) -> list[tuple[IntegrationTrigger, int]]:
    """Check trigger references against the catalog: ``(trigger, trigger type id)`` pairs.

    Unknown trigger → 404; a trigger of another source, an inactive trigger, a type the
    trigger does not run as, or the same trigger twice → 422. Each error names the item.
    """
    if not refs:
        raise InvalidInput("at least one trigger is needed", field=field)
    resolved: list[tuple[IntegrationTrigger, int]] = []
    seen: set[int] = set()
    for index, ref in enumerate(refs):
        where = f"{field}.{index}"
        trigger = await session.get(IntegrationTrigger, ref.trigger_id)
        if trigger is None:
            raise NotFound(f"trigger {ref.trigger_id} not found", field=f"{where}.triggerId")
        if trigger.source_id != source.id:
            raise InvalidInput(
                f"trigger {trigger.id} does not belong to source {source.id}",
                field=f"{where}.triggerId",
            )
        if not trigger.active:
            raise InvalidInput(f"trigger {trigger.id} is not active", field=f"{where}.triggerId")
        if trigger.id in seen:
            raise InvalidInput(f"trigger {trigger.id} is given twice", field=f"{where}.triggerId")
        seen.add(trigger.id)
        type_id = trigger.trigger_type_id if ref.trigger_type_id is None else ref.trigger_type_id
        if type_id != trigger.trigger_type_id:
            raise InvalidInput(
                f"trigger {trigger.id} runs as trigger type {trigger.trigger_type_id}",
                field=f"{where}.triggerTypeId",
            )
        resolved.append((trigger, type_id))
    return resolved


async def upsert_specs(session: AsyncSession, specs: Sequence[SourceSpec]) -> None:
    """Bring the catalog up to date with the registered sources (at every start-up).

    A source row and its triggers are inserted when missing and their names, category and
    lifecycle updated from the spec; ids never change (groups and check-ins refer to them),
    and triggers the spec no longer lists are left as they are.

    Processes starting together (workers, API nodes) upsert one at a time: on PostgreSQL a
    transaction-level advisory lock serialises them, so the second sees the first's rows
    instead of inserting them again; SQLite's single writer does the same by itself.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CATALOG_LOCK})
    for spec in specs:
        entry = spec.catalog
        source = await session.get(IntegrationSource, entry.source_id)
        if source is None:
            source = IntegrationSource(id=entry.source_id)
            session.add(source)
        source.name = entry.name
        source.source_category = entry.category
        source.integration_type = entry.integration_type
        source.oauth_enabled = entry.oauth_enabled
        source.lifecycle = entry.lifecycle
        source.match_key = spec.match_key
        source.password_key = spec.password_key
        source.uses_app_credentials = spec.uses_app_credentials
        await session.flush()
        for trigger_spec in entry.triggers:
            if await session.get(IntegrationTriggerType, trigger_spec.trigger_type_id) is None:
                session.add(
                    IntegrationTriggerType(
                        id=trigger_spec.trigger_type_id, name=trigger_spec.trigger_type_name
                    )
                )
                await session.flush()
            trigger = await session.get(IntegrationTrigger, trigger_spec.trigger_id)
            if trigger is None:
                trigger = IntegrationTrigger(id=trigger_spec.trigger_id, active=True)
                session.add(trigger)
            trigger.source_id = entry.source_id
            trigger.trigger_service = trigger_spec.name
            trigger.display_name = trigger_spec.display_name
            trigger.description = trigger_spec.description
            trigger.trigger_type_id = trigger_spec.trigger_type_id
            trigger.action_group_id = trigger_spec.action_group_id
        await session.flush()
