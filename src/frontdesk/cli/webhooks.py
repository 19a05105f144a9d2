"""``frontdesk webhooks [--kind K --state S --json]`` and ``replay ID… | --parked``: the one
outbound webhook store, both kinds (ticket pushes and review-request events).

The operator's path to parked events of either kind (the HTTP paths stay per feature:
``/api/answering/webhook-deliveries/{id}/redeliver`` and
``/api/webhooks/{businessNumber}/events/{eventId}/replay``). A replay keeps the event id;
a running server's pump sends it at its next poll. Bodies are never printed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from frontdesk.access.principal import Principal
from frontdesk.cli.runtime import console, opened_context, run
from frontdesk.db.bounds import MAX_BIGINT
from frontdesk.errors import InvalidInput
from frontdesk.webhooks import store
from frontdesk.webhooks.models import KIND_NAMES, PARKED, STATES, WebhookEvent
from frontdesk.webhooks.service import replay_event

app = typer.Typer(help="Signed webhook deliveries (ticket pushes, review-request events).")
CLI = Principal.system("cli")
REPLAY_ALL_LIMIT = 10_000


def _row(row: WebhookEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "eventId": row.event_id,
        "event": row.event,
        "state": row.state,
        "attempts": row.attempts,
        "lastStatusCode": row.last_status_code,
        "lastError": row.last_error,
        "nextAttemptAt": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
    }


def _check(kind: str | None, state: str | None) -> None:
    if kind is not None and kind not in KIND_NAMES:
        raise InvalidInput(f"--kind must be one of {', '.join(KIND_NAMES)}", field="kind")
    if state is not None and state not in STATES:
        raise InvalidInput(f"--state must be one of {', '.join(STATES)}", field="state")


@app.callback(invoke_without_command=True)
def list_command(
    context: typer.Context,
    kind: Annotated[str | None, typer.Option("--kind", help="ticket or review")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="pending, sending, delivered, parked")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON array")] = False,
) -> None:
    """Events newest first, with their state."""
    if context.invoked_subcommand is not None:
        return

    async def go() -> list[dict[str, Any]]:
        _check(kind, state)
        async with opened_context() as ctx, ctx.db.reader() as session:
            rows = await store.list_events(session, kind=kind, state=state, limit=limit)
            return [_row(r) for r in rows]

    rows = run(go())
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        console.print(
            f"{r['id']:>8}  {r['kind']:<7} {r['state']:<9} {r['attempts']:>3}  "
            f"{r['eventId']}  {r['lastError'] or ''}"
        )


@app.command("replay")
def replay_command(
    ids: Annotated[
        list[int] | None, typer.Argument(help="event ids (as listed)", min=1, max=MAX_BIGINT)
    ] = None,
    parked: Annotated[bool, typer.Option("--parked", help="every parked event")] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="with --parked: one kind")] = None,
) -> None:
    """Queue parked (or delivered) events again with their event ids (audited)."""

    async def go() -> list[dict[str, Any]]:
        _check(kind, None)
        if bool(ids) == parked:
            raise InvalidInput("give event ids or --parked (not both)", field="ids")
        async with opened_context() as ctx, ctx.db.transaction() as session:
            chosen = list(ids or [])
            if parked:
                found = await store.list_events(
                    session, kind=kind, state=PARKED, limit=REPLAY_ALL_LIMIT
                )
                chosen = [r.id for r in found]
            done = []
            for row_id in chosen:
                row = await replay_event(
                    session, clock=ctx.clock, actor=CLI, row_id=row_id, kind=kind
                )
                done.append(_row(row))
            return done

    replayed = run(go())
    console.print(f"{len(replayed)} event(s) queued again")
