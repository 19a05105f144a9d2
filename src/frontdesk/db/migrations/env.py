"""Alembic environment: runs on the connection handed over by ``frontdesk.db.migrate``.

Run from the command line (``alembic -c alembic.ini ...``) it opens its own connection from
``FRONTDESK_DATABASE_URL`` / the embedded default.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from frontdesk.db.models import Base
from frontdesk.jobs.procrastinate_schema import include_name

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,  # procrastinate's tables (0007) are not our models
    )
    with context.begin_transaction():
        context.run_migrations()


def run_standalone() -> None:
    from frontdesk.db.engine import Database
    from frontdesk.settings import load_settings

    async def main() -> None:
        db = Database(load_settings().sqlalchemy_url)
        async with db.write_engine.begin() as connection:
            await connection.run_sync(run_on)
        await db.dispose()

    asyncio.run(main())


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    run_standalone()
