"""``frontdesk db``: schema migrations."""

from __future__ import annotations

import typer

from frontdesk.cli.runtime import cli_settings, console, run
from frontdesk.db.engine import Database
from frontdesk.db.migrate import current_revisions, head_revisions, upgrade

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(revision: str = typer.Option("heads", help="target revision")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""

    async def body() -> None:
        settings = cli_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.sqlalchemy_url)
        try:
            before = await current_revisions(db)
            await upgrade(db, revision)
            after = await current_revisions(db)
        finally:
            await db.dispose()
        console.print(f"database at {', '.join(after)} (was {', '.join(before) or 'empty'})")

    run(body())


@app.command("current")
def current_command() -> None:
    """Show the applied and the newest revision."""

    async def body() -> None:
        db = Database(cli_settings().sqlalchemy_url)
        try:
            applied = ", ".join(await current_revisions(db)) or "none"
            console.print(f"applied: {applied}  newest: {', '.join(head_revisions())}")
        finally:
            await db.dispose()

    run(body())
