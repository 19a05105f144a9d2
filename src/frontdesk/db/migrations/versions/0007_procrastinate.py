"""procrastinate: the job engine's schema (PostgreSQL only)

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-24

procrastinate's tables, types, functions and triggers are applied from the installed package
(``SchemaManager.get_schema()``), never by hand. The package's schema file is always its
newest schema, so this revision pins the schema *level*: the newest of procrastinate's own
migration scripts that ``schema.sql`` corresponds to. A package shipping a newer schema is
refused here; upgrading procrastinate means a new revision that applies its migration
scripts from ``SCHEMA_LEVEL`` on (and pinning the new package version).

Pinned: procrastinate 3.10.0, schema level 03.04.00. On SQLite this revision does nothing
(the embedded runner keeps no tables).
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0007"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA_LEVEL = "03.04.00"

# Functions are dropped by name whatever their signatures; tables take their triggers along.
DROP_SCHEMA = """
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || fn::text || ' CASCADE';
    END LOOP;
END;
$$;
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
    procrastinate_jobs, procrastinate_workers CASCADE;
DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
    procrastinate_job_status CASCADE;
"""


def _schema_sql() -> str:
    try:
        from procrastinate.schema import SchemaManager
    except ImportError as exc:  # pragma: no cover - procrastinate is a dependency
        raise RuntimeError("migration 0007 needs the procrastinate package installed") from exc
    scripts = sorted(p.name for p in Path(SchemaManager.get_migrations_path()).glob("*.sql"))
    level = scripts[-1][:8] if scripts else "none"
    if level != SCHEMA_LEVEL:
        raise RuntimeError(
            f"the installed procrastinate ships schema level {level}, migration 0007 applies "
            f"{SCHEMA_LEVEL}: install the pinned procrastinate version"
        )
    return str(SchemaManager.get_schema())


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # SQLAlchemy hands the driver an empty parameter list, so '%' must be doubled (as
    # procrastinate's own SchemaManager.apply_schema does).
    bind.exec_driver_sql(_schema_sql().replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(DROP_SCHEMA.replace("%", "%%"))
