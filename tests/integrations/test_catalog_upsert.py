"""Processes starting together upsert the catalog from their sources' specs without tripping
over each other (three workers started at once raced to insert the same source on
PostgreSQL; the kill -9 workers test caught it)."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, select

from frontdesk.composition import builtin_sources
from frontdesk.context import AppContext
from frontdesk.integrations.catalog import upsert_specs
from frontdesk.integrations.models import IntegrationSource, IntegrationTrigger
from frontdesk.settings import Settings


async def test_concurrent_start_ups_upsert_the_catalog_once(
    ctx: AppContext, settings: Settings
) -> None:
    specs = [s.spec for s in builtin_sources()]
    async with ctx.db.transaction() as session:  # as a database from before FHIR and HL7
        await session.execute(delete(IntegrationTrigger).where(IntegrationTrigger.id != 56))
        await session.execute(delete(IntegrationSource).where(IntegrationSource.id != 32))
    contexts = [await AppContext.open(settings, migrate=False) for _ in range(4)]
    try:

        async def start(other: AppContext) -> None:
            async with other.db.transaction() as session:
                await upsert_specs(session, specs)

        await asyncio.gather(*(start(c) for c in contexts))
    finally:
        for other in contexts:
            await other.close()
    async with ctx.db.reader() as session:
        ids = (await session.execute(select(IntegrationSource.id))).scalars().all()
    assert sorted(ids) == sorted(s.catalog.source_id for s in specs)
