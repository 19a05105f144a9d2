"""The root ``frontdesk`` command: an explicit registry of sub-commands."""

from __future__ import annotations

import typer

from frontdesk.cli import (
    activation,
    admin,
    answering,
    business,
    checkins,
    config,
    db,
    demo,
    hl7,
    integration,
    outbox,
    sync,
    webhooks,
)
from frontdesk.cli.audit import audit_command
from frontdesk.cli.mllp import mllp_command
from frontdesk.cli.serve import serve_command
from frontdesk.cli.usage import usage_command
from frontdesk.cli.worker import worker_command
from frontdesk.sandbox.cli import app as sandbox_app

app = typer.Typer(
    name="frontdesk",
    help="Integration hub for medical practices.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("serve")(serve_command)
app.command("demo")(demo.demo_command)
app.command("audit")(audit_command)
app.command("worker")(worker_command)
app.command("mllp")(mllp_command)
app.command("usage")(usage_command)
app.add_typer(db.app, name="db")
app.add_typer(admin.app, name="admin")
app.add_typer(business.app, name="business")
app.add_typer(answering.app, name="answering")
app.add_typer(sandbox_app, name="sandbox", help="Protocol simulators (the Unity sandbox).")
app.add_typer(sync.app, name="sync")
app.add_typer(checkins.app, name="checkins")
app.add_typer(integration.app, name="integration")
app.add_typer(outbox.app, name="outbox")
app.add_typer(hl7.app, name="hl7")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(activation.app, name="activation")
app.add_typer(config.app, name="config")


def main() -> None:
    app()
