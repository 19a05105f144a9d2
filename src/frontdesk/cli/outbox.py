"""``frontdesk outbox [--business N --state S --json]``, ``show ID``, ``requeue ID``, ``repair``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.cli.listing import TABLE_ROWS, print_listing
from frontdesk.cli.runtime import Column, console, opened_context, opened_process, run
from frontdesk.context import AppContext
from frontdesk.db.bounds import MAX_BIGINT
from frontdesk.delivery.channel import ChannelRegistry
from frontdesk.engagement import outbox
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.engagement.repair import repair_missing_requests

app = typer.Typer(help="Review requests: list them with their state, show one, requeue.")
CLI = Principal.system("cli")


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


LIST_COLUMNS: list[Column] = [
    ("id", lambda row: str(row["id"])),
    ("location", lambda row: str(row["business_number"])),
    ("appointment", lambda row: row["appointment_id"]),
    ("day", lambda row: row["appointment_day"] or ""),
    ("channel", lambda row: row["channel"]),
    ("recipient", lambda row: row["recipient"] or ""),
    ("state", lambda row: row["state"]),
    ("attempts", lambda row: str(row["attempts"])),
    ("next attempt", lambda row: row["next_attempt_at"] if row["state"] == "pending" else ""),
    ("error", lambda row: row["last_error_code"] or ""),
]


@app.callback(invoke_without_command=True)
def list_command(
    context: typer.Context,
    business: Annotated[int | None, typer.Option("--business", min=1, max=MAX_BIGINT)] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="pending, sending, sent, failed, parked")
    ] = None,
    first: Annotated[str | None, typer.Option("--from", help="first day created (UTC)")] = None,
    last: Annotated[str | None, typer.Option("--to", help="last day created (UTC)")] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            max=MAX_BIGINT,
            help=f"at most this many (default: all with --json, {TABLE_ROWS} in a table)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON array of every match")] = False,
    reveal: Annotated[bool, typer.Option("--reveal", help="show recipients (audited)")] = False,
) -> None:
    """Review requests, newest first, with their state (recipients masked)."""
    if context.invoked_subcommand is not None:
        return
    filters = outbox.OutboxFilters(
        business_number=business, state=state, first=_day(first), last=_day(last)
    )

    async def go() -> None:
        async with opened_context() as ctx, ctx.db.transaction() as session:

            async def shown(found: Sequence[ReviewRequest]) -> list[dict[str, Any]]:
                if reveal:
                    await outbox.audit_reveal(
                        session, principal=CLI, clock=ctx.clock, request_ids=[r.id for r in found]
                    )
                views = await outbox.views(session, found, secrets=ctx.secrets, reveal=reveal)
                return [v.as_dict() for v in views]

            query = await outbox.matching(session, principal=CLI, filters=filters)
            await print_listing(
                session,
                query,
                ReviewRequest.id,
                shown=shown,
                columns=LIST_COLUMNS,
                limit=limit,
                as_json=as_json,
                noun="review requests",
            )

    run(go())


@app.command("show")
def show_command(
    request_id: Annotated[int, typer.Argument(help="the review request id", min=1, max=MAX_BIGINT)],
    reveal: Annotated[bool, typer.Option("--reveal", help="show the recipient (audited)")] = False,
) -> None:
    """One request as JSON; in the demo, with the captured message."""

    async def go() -> dict[str, Any]:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            found = await outbox.get_request(session, principal=CLI, request_id=request_id)
            if reveal:
                await outbox.audit_reveal(
                    session, principal=CLI, clock=ctx.clock, request_ids=[found.id]
                )
            (view,) = await outbox.views(session, [found], secrets=ctx.secrets, reveal=reveal)
            return {**view.as_dict(), "captured": await outbox.captured_message(session, found)}

    typer.echo(json.dumps(run(go()), indent=2))


@app.command("requeue")
def requeue_command(
    request_id: Annotated[
        int, typer.Argument(help="a failed or parked review request", min=1, max=MAX_BIGINT)
    ],
) -> None:
    """Put a failed or parked request back to pending (audited); a worker sends it."""

    async def go() -> str:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            found = await outbox.requeue(
                session, principal=CLI, clock=ctx.clock, request_id=request_id
            )
            return found.state

    state = run(go())
    console.print(f"review request {request_id}: {state}")


async def _repair(
    ctx: AppContext, session: AsyncSession, channels: ChannelRegistry, *, dry_run: bool
) -> dict[str, object]:
    report = await repair_missing_requests(
        session,
        now=ctx.clock.now(),
        settings=ctx.settings.sync,
        secrets=ctx.secrets,
        dry_run=dry_run,
        channels=channels,
    )
    if not dry_run:
        await record_event(
            session,
            clock=ctx.clock,
            actor=CLI,
            action="review_requests.repair",
            target_type="review_request",
            target_id=",".join(str(i) for i in report.written[:50]),
            business_id=None,
            details=report.as_dict(),
        )
    return report.as_dict()


@app.command("repair")
def repair_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be written; write nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="the counts as JSON")] = False,
) -> None:
    """Review requests for eligible check-ins that have none (decided by ``sync run`` before
    the fix), subject to too_old, opt-outs and the frequency cap; audited."""

    async def go() -> dict[str, object]:
        async with opened_process() as process:
            ctx = process.ctx
            async with ctx.db.transaction() as session:
                return await _repair(ctx, session, process.plugins.channels, dry_run=dry_run)

    counts = run(go())
    if as_json:
        typer.echo(json.dumps(counts))
        return
    skipped = counts["skipped"]
    assert isinstance(skipped, dict)
    verb = "would be written" if dry_run else "written"
    console.print(
        f"{counts['missing']} eligible check-ins had no review request: "
        f"{counts['written']} {verb}"
        + "".join(f", {n} skipped ({reason})" for reason, n in skipped.items())
    )
