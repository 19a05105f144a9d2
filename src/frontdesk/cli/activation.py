"""``frontdesk activation``: raise, list, show and advance client activation requests.

Commands act as the local operator (a system principal: every tenant); every change is
audited and mailed to ``FRONTDESK_ACTIVATIONS__NOTIFY`` like the API's and the page's.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from frontdesk.access.principal import Principal
from frontdesk.activations import lifecycle, service
from frontdesk.activations.service import ActivationDetails
from frontdesk.activations.views import ActivationView
from frontdesk.cli.runtime import console, opened_context, run
from frontdesk.db.bounds import MAX_BIGINT

app = typer.Typer(
    help="Client activations: the vendor activating our application for a practice.",
    no_args_is_help=True,
)
OPERATOR = Principal.system()


def _print(view: ActivationView) -> None:
    console.print(
        f"activation #{view.id}: business {view.business_number} ({view.business_name}), "
        f"{view.source}, [bold]{view.status}[/bold]"
    )
    for label, value in (
        ("practice", view.practice_name),
        (
            "contact",
            ", ".join(v for v in (view.contact_name, view.contact_email, view.contact_phone) if v),
        ),
        ("vendor client id", view.client_id),
        ("service user", view.service_user),
        ("environment", view.environment),
        ("notes", view.notes),
    ):
        if value:
            console.print(f"  {label}: {value}", highlight=False)
    table = Table("at (UTC)", "by", "change", "note", "mail")
    for e in view.history:
        change = f"{e.from_status} → {e.to_status}" if e.from_status else e.to_status
        table.add_row(f"{e.at:%Y-%m-%d %H:%M}", e.actor, change, e.note or "", e.notification or "")
    console.print(table)


@app.command("request")
def request_command(
    business: Annotated[int, typer.Option("--business", min=1, max=MAX_BIGINT)],
    source: Annotated[str, typer.Option("--source", help="source name or id, e.g. ALLSCRIPTS")],
    practice: Annotated[str, typer.Option("--practice", help="practice name")],
    contact: Annotated[str, typer.Option("--contact", help="contact person")],
    email: Annotated[str | None, typer.Option("--email", help="contact e-mail")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="contact phone")] = None,
    client_id: Annotated[str | None, typer.Option("--client-id", help="vendor client id")] = None,
    service_user: Annotated[
        str | None, typer.Option("--service-user", help="vendor ServiceUser (stored encrypted)")
    ] = None,
    environment: Annotated[str, typer.Option("--environment")] = "production",
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="save as draft, not yet requested")
    ] = False,
) -> None:
    """Raise the activation request of a business and source (details from the set-up call)."""

    async def body() -> None:
        async with opened_context() as ctx:
            view = await service.raise_request(
                ctx,
                principal=OPERATOR,
                business_number=business,
                source=source,
                status=lifecycle.DRAFT if draft else lifecycle.REQUESTED,
                details=ActivationDetails(
                    practice_name=practice,
                    contact_name=contact,
                    contact_email=email,
                    contact_phone=phone,
                    client_id=client_id,
                    service_user=service_user,
                    environment=environment,
                    notes=notes,
                ),
            )
        _print(view)

    run(body())


@app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option("--status", help="only this status")] = None,
    business: Annotated[int | None, typer.Option("--business", min=1, max=MAX_BIGINT)] = None,
    source: Annotated[str | None, typer.Option("--source")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON array of all matches")] = False,
) -> None:
    """The Client Activations report, newest change first."""

    async def body() -> list[ActivationView]:
        async with opened_context() as ctx:
            return await service.list_requests(
                ctx, principal=OPERATOR, status=status, business_number=business, source=source
            )

    rows = run(body())
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in rows], indent=2))
        return
    table = Table("id", "business", "practice", "source", "status", "changed (UTC)", "by")
    for r in rows:
        table.add_row(
            str(r.id),
            str(r.business_number),
            r.practice_name,
            r.source,
            r.status,
            f"{r.changed_at:%Y-%m-%d %H:%M}",
            r.changed_by,
        )
    console.print(table)


@app.command("show")
def show_command(activation_id: Annotated[int, typer.Argument(min=1, max=MAX_BIGINT)]) -> None:
    """One request with its details and status history."""

    async def body() -> ActivationView:
        async with opened_context() as ctx:
            return await service.show_request(ctx, principal=OPERATOR, activation_id=activation_id)

    _print(run(body()))


@app.command("set-status")
def set_status_command(
    activation_id: Annotated[int, typer.Argument(min=1, max=MAX_BIGINT)],
    status: Annotated[str, typer.Argument(help=", ".join(lifecycle.STATUSES))],
    note: Annotated[str | None, typer.Option("--note")] = None,
) -> None:
    """Record a change (e.g. the vendor approved it); refused if the lifecycle forbids it."""

    async def body() -> ActivationView:
        async with opened_context() as ctx:
            return await service.set_status(
                ctx, principal=OPERATOR, activation_id=activation_id, status=status, note=note
            )

    _print(run(body()))
