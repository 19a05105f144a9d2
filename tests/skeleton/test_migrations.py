"""Migrations and models describe the same schema, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from frontdesk.context import AppContext
from frontdesk.db.migrate import current_revisions, head_revisions, upgrade
from frontdesk.db.models import Base
from frontdesk.jobs.procrastinate_schema import include_name


async def test_migrations_match_models(ctx: AppContext) -> None:
    def diff(connection: Connection) -> list[object]:
        mc = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        return list(compare_metadata(mc, Base.metadata))

    async with ctx.db.read_engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_upgrade_is_idempotent(ctx: AppContext) -> None:
    assert await current_revisions(ctx.db) == head_revisions()
    await upgrade(ctx.db)
    assert await current_revisions(ctx.db) == head_revisions()
