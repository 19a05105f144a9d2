"""``frontdesk hl7 messages [--json]`` and ``frontdesk hl7 reprocess [ID...] [--all]``.

Listings show the full MSH-10 control id, facility, type, state and our error text: never
message content (the raw message is encrypted and stays in the store).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from frontdesk.cli.runtime import console, err_console, opened_context, run
from frontdesk.composition import hl7_store
from frontdesk.hl7.facilities import KnownFacilities
from frontdesk.hl7.models import STATES, Hl7Message
from frontdesk.hl7.reprocess import reprocess
from frontdesk.hl7.store import Search

app = typer.Typer(help="The HL7v2 message store: list messages, reprocess failed ones.")


def message_json(row: Hl7Message) -> dict[str, object]:
    """A stored message's listing fields (no content)."""
    return {
        "id": row.id,
        "control_id": row.control_id,
        "facility": row.sending_facility,
        "application": row.sending_application,
        "type": row.message_type,
        "state": row.state,
        "error": row.error,
        "appointment_id": row.appointment_id,
        "appointment_day": row.appointment_day.isoformat() if row.appointment_day else None,
        "location": row.location,
        "received_at": row.received_at.isoformat(),
    }


@app.command("messages")
def messages_command(
    control_id: Annotated[str | None, typer.Option("--control-id", help="MSH-10")] = None,
    facility: Annotated[str | None, typer.Option("--facility", help="MSH-4.1")] = None,
    message_type: Annotated[
        str | None, typer.Option("--type", help="SIU, ADT or SIU^S12 ...")
    ] = None,
    state: Annotated[str | None, typer.Option("--state", help=", ".join(STATES))] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON array")] = False,
) -> None:
    """One line per stored message, newest first: id, control id, facility, type, state."""
    if state is not None and state not in STATES:
        err_console.print(f"--state must be one of {', '.join(STATES)}")
        raise typer.Exit(2)

    async def body() -> list[Hl7Message]:
        async with opened_context() as ctx:
            query = Search(control_id, facility, message_type, state, limit)
            return await hl7_store(ctx).search(query)

    rows = run(body())
    if as_json:
        print(json.dumps([message_json(r) for r in rows], indent=2))
        return
    for row in rows:
        error = f" {row.error}" if row.error else ""
        console.print(
            f"{row.id}\t{row.control_id}\t{row.sending_facility}\t{row.message_type}\t"
            f"{row.state}\t{row.received_at:%Y-%m-%dT%H:%M:%SZ}{error}",
            highlight=False,
            soft_wrap=True,
        )


@app.command("reprocess")
def reprocess_command(
    ids: Annotated[list[int] | None, typer.Argument(help="message ids")] = None,
    every: Annotated[bool, typer.Option("--all", help="every errored or rejected message")] = False,
) -> None:
    """Judge stored messages again (after configuring a facility or fixing the feed)."""
    if not ids and not every:
        err_console.print("give message ids or --all")
        raise typer.Exit(2)

    async def body() -> None:
        async with opened_context() as ctx:
            store = hl7_store(ctx)
            facilities = KnownFacilities(ctx.db, refresh_s=0.0)
            report = await reprocess(
                store, knows=facilities.knows, clock=ctx.clock, ids=None if every else ids
            )
        console.print(
            f"reprocessed {report.seen}: {report.accepted} accepted, "
            f"{report.still_failing} still failing"
        )

    run(body())
