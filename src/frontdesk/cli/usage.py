"""``frontdesk usage``: what businesses used over a period (the usage table, as flushed)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from frontdesk.access.principal import Principal
from frontdesk.cli.runtime import console, opened_context, run
from frontdesk.usage.meter import KINDS
from frontdesk.usage.report import UsageReport, read_usage

LABELS = {
    "integration_api": "integration-API calls (per API key)",
    "answering_api": "Answering-API calls (per user)",
    "source_call": "source calls (per action)",
    "source_error": "source call errors (per action)",
    "sync_run": "sync runs (per status)",
    "checkin": "check-ins (per decision)",
    "review_request": "review requests (channel:state)",
    "ticket": "tickets",
}


def usage_command(
    business: Annotated[
        int | None, typer.Option("--business", min=1, help="a business number (default: all)")
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="first day (default: 30 days back)"),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="last day (default: today)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as one JSON object")] = False,
) -> None:
    """Usage per business and day: API calls, source calls and errors, sync runs, check-ins,
    review requests, tickets (counts are flushed by the running processes every
    FRONTDESK_USAGE__FLUSH_S seconds)."""

    async def body() -> None:
        async with opened_context() as ctx:
            report = await read_usage(
                ctx,
                principal=Principal.system(),
                business=business,
                start=start.date() if start else None,
                end=end.date() if end else None,
            )
        if as_json:
            typer.echo(json.dumps(report.as_dict(), indent=2))
        else:
            _print(report)

    run(body())


def _print(report: UsageReport) -> None:
    scope = f"business {report.business}" if report.business else "all businesses"
    console.print(f"Usage of {scope}, {report.period.start} to {report.period.end}")
    table = Table("what", "subject", "count")
    for kind in KINDS:
        table.add_row(LABELS[kind], "", str(report.totals.get(kind, 0)), style="bold")
        for subject, count in report.breakdown(kind):
            table.add_row("", subject, str(count))
    console.print(table)
    if report.totals.get("sync_run"):
        average = report.sync_ms / 1000 / report.totals["sync_run"]
        console.print(f"average sync run: {average:.1f} s")
