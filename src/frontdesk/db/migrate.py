"""Run Alembic migrations programmatically (``frontdesk db upgrade`` and auto-migrate)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from frontdesk.db.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every process of one deployment.
PG_MIGRATION_LOCK = 7_364_112_009


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revisions() -> tuple[str, ...]:
    """The newest revision of every branch (features may add migrations in parallel)."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


async def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; concurrent callers on PostgreSQL queue on a lock."""

    def run(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.write_engine.begin() as connection:
        await connection.run_sync(run)


async def current_revisions(db: Database) -> tuple[str, ...]:
    def run(connection: Connection) -> tuple[str, ...]:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))

    async with db.read_engine.connect() as connection:
        return await connection.run_sync(run)
