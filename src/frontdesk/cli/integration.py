"""``frontdesk integration health|diagnose|reauthorize|fhir-key``: credential health for support
staff, and FHIR key pairs.

Secrets are read from a hidden prompt, or one line each from stdin when it is not a
terminal — never from the command line (argv ends up in shell history and ``ps``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from frontdesk.access.principal import Principal
from frontdesk.cli.runtime import console, opened_context, opened_process, read_secret, run
from frontdesk.cli.sync import Synced, run_and_queue
from frontdesk.composition import Process
from frontdesk.credentials.diagnose import LOG_LIMIT, Diagnosis, diagnose
from frontdesk.credentials.health import GroupHealth, check_warnings, group_health
from frontdesk.credentials.reauthorize import Reauthorization, reauthorize
from frontdesk.db.bounds import MAX_BIGINT
from frontdesk.errors import InvalidInput
from frontdesk.integrations import properties as props
from frontdesk.integrations.groups import PropertyInput, get_group

app = typer.Typer(
    help="Integration credentials: health, diagnose, re-authorise.", no_args_is_help=True
)
CLI = Principal.system("cli")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _health_json(rows: list[GroupHealth]) -> list[dict[str, Any]]:
    return [
        {
            "group_id": h.group_id,
            "business_number": h.business_number,
            "business": h.business_name,
            "status": h.status,
            "status_reason": h.status_reason,
            "last_run": h.last_run_status,
            "last_run_at": h.last_run_at.isoformat() if h.last_run_at else None,
            "next_run_at": h.next_run_at.isoformat() if h.next_run_at else None,
            "password_age_days": h.password_age_days,
            "warnings": [w.message for w in h.warnings],
            "open_incident": h.incident_reason,
            "parked_requests": h.parked_requests,
        }
        for h in rows
    ]


@app.command("health")
def health_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    record: Annotated[
        bool,
        typer.Option("--record", help="also audit today's warnings and e-mail new ones"),
    ] = False,
) -> None:
    """Every group: status, last run, next run, password age, parked review requests,
    warnings."""

    async def go() -> list[GroupHealth]:
        async with opened_context() as ctx:
            if record:
                await check_warnings(ctx)
            async with ctx.db.reader() as session:
                return await group_health(
                    session, principal=None, settings=ctx.settings, now=ctx.clock.now()
                )

    rows = run(go())
    if as_json:
        console.print_json(json.dumps(_health_json(rows)))
        return
    table = Table(show_header=True, header_style="bold")
    for column in (
        "group",
        "business",
        "status",
        "last run",
        "next run",
        "password age",
        "parked",
        "warnings",
    ):
        table.add_column(column)
    for h in rows:
        status = h.status + (f" ({h.status_reason})" if h.status_reason else "")
        last = f"{h.last_run_status} {_when(h.last_run_at)}" if h.last_run_status else "-"
        age = f"{h.password_age_days} days" if h.password_age_days is not None else "-"
        table.add_row(
            str(h.group_id),
            f"{h.business_name} ({h.business_number})",
            status,
            last,
            _when(h.next_run_at),
            age,
            str(h.parked_requests) if h.parked_requests else "-",
            "\n".join(w.message for w in h.warnings) or "-",
        )
    console.print(table)


def _print_diagnosis(found: Diagnosis) -> None:
    check = found.check
    console.print(
        f"[bold]group {found.group_id}[/bold]: {found.status}"
        + (f" ({found.status_reason})" if found.status_reason else "")
    )
    line = f"check: {check.status.value} — {check.message}"
    if check.reason:
        line += f" [{check.reason}]"
    console.print(line, markup=False)
    for action in check.missing_actions:
        console.print(f"  missing licence for the action: {action}")
    for warning in check.warnings:
        console.print(f"  warning: {warning}")
    if found.logs_error:
        console.print(f"server log (LastLogs): unavailable — {found.logs_error}")
    else:
        console.print(f"server log (LastLogs, errors, newest first): {len(found.logs)} entries")
        for entry in found.logs:
            console.print(f"  {entry.logged_at}  {entry.action}  {entry.message}", markup=False)
    run_ = found.last_run
    if run_ is None:
        console.print("last run: none")
        return
    window = f"{run_.window_first.isoformat()}..{run_.window_last.isoformat()}"
    console.print(f"last run {run_.id} ({run_.kind}, window {window}): {run_.status}")
    if run_.error_code:
        console.print(f"  error: {run_.error_code}: {run_.error_message}", markup=False)
    counts = run_.counts or {}
    for key in ("fetched", "decided", "already_decided", "eligible"):
        if key in counts:
            console.print(f"  {key}: {counts[key]}")
    for reason, count in (counts.get("restricted") or {}).items():
        console.print(f"  restricted: {reason}: {count}")


@app.command("diagnose")
def diagnose_command(
    group: Annotated[
        int, typer.Option("--group", min=1, max=MAX_BIGINT, help="integration group id")
    ],
    logs: Annotated[
        int, typer.Option("--logs", min=1, max=1000, help="LastLogs errors to show")
    ] = LOG_LIMIT,
) -> None:
    """Test the connection, read the remote's error log, show the last run."""

    async def go() -> Diagnosis:
        async with opened_process() as process:
            return await diagnose(
                process.ctx, process.plugins, principal=CLI, group_id=group, log_limit=logs
            )

    found = run(go())
    _print_diagnosis(found)
    if not found.check.ok:
        raise typer.Exit(1)


@app.command("reauthorize")
def reauthorize_command(
    group: Annotated[
        int, typer.Option("--group", min=1, max=MAX_BIGINT, help="integration group id")
    ],
    keys: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            help="property to set (repeat; default: the source's expiring password, "
            "PM_Password for Allscripts)",
        ),
    ] = None,
    recheck: Annotated[
        bool, typer.Option("--recheck", help="store nothing: re-check the stored credentials")
    ] = False,
    backfill: Annotated[
        bool, typer.Option("--backfill/--no-backfill", help="backfill the missed days")
    ] = True,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="run the backfill here, in the foreground")
    ] = True,
) -> None:
    """New credentials from a hidden prompt (or stdin, one line per key); check; reactivate."""

    async def go() -> tuple[Reauthorization, Synced | None]:
        async with opened_process() as process:
            values = await _new_values(process, group=group, keys=keys, recheck=recheck)
            done = await reauthorize(
                process.ctx,
                process.plugins,
                principal=CLI,
                group_id=group,
                properties=values,
                backfill=backfill,
            )
            synced = None
            if done.runs and wait:
                synced = await run_and_queue(process, done.runs, send=False)
            return done, synced

    done, synced = run(go())
    finished = synced.runs if synced is not None else []
    check = done.check
    console.print(
        f"check: {check.status.value} — {check.message}"
        + (f" [{check.reason}]" if check.reason else ""),
        markup=False,
    )
    for action in check.missing_actions:
        console.print(f"  missing licence for the action: {action}")
    if not check.ok:
        console.print(f"group {done.group_id} stays {done.status}; nothing was stored")
        raise typer.Exit(1)
    console.print(
        f"group {done.group_id}: {done.status}"
        + (" (reactivated)" if done.reactivated else "")
        + ("; new credentials stored" if done.stored else "")
    )
    for item in finished or done.runs:
        window = f"{item.window_first.isoformat()}..{item.window_last.isoformat()}"
        counts = item.counts or {}
        console.print(
            f"backfill run {item.id} (window {window}): {item.status}"
            + (
                f", fetched {counts.get('fetched', 0)}, eligible {counts.get('eligible', 0)}"
                if counts
                else ""
            )
        )
    if synced is not None:
        console.print(f"{len(synced.requests)} review requests queued")
    if any(item.status != "succeeded" for item in finished):
        raise typer.Exit(1)


async def _new_values(
    process: Process, *, group: int, keys: list[str] | None, recheck: bool
) -> list[PropertyInput]:
    """The new values, each from a hidden prompt (or stdin, one line per key); by default
    the source's expiring password (its spec names it), secure as its spec says."""
    if recheck:
        return []
    async with process.ctx.db.reader() as session:
        source = (await get_group(session, group_id=group, principal=CLI)).source.name
    spec = process.plugins.spec(source)
    wanted = list(keys or ([spec.password_key] if spec and spec.password_key else []))
    if not wanted:
        raise InvalidInput("name the properties to set with --key", field="key")
    values = []
    for key in wanted:
        known = props.spec_for(key, spec)
        value = read_secret(f"New {key}")
        if not value:
            raise InvalidInput(f"an empty value was given for {key}", field="key")
        values.append(PropertyInput(key, value, is_secure=bool(known and known.secure)))
    return values


@app.command("fhir-key")
def fhir_key_command(
    group: Annotated[int, typer.Option("--group", help="FHIR R4 integration group id")],
) -> None:
    """Generate an EC P-384 key pair for a FHIR group and print the JWKS URL to register
    with the EHR (the private key is stored encrypted; the old one, if any, is replaced)."""
    from frontdesk.connectors.fhir.keypairs import generate_group_key, jwks_url

    async def go() -> tuple[str, str]:
        async with opened_process() as process:
            ctx = process.ctx
            async with ctx.db.transaction() as session:
                kid = await generate_group_key(
                    session,
                    principal=CLI,
                    clock=ctx.clock,
                    secrets=ctx.secrets,
                    plugins=process.plugins,
                    group_id=group,
                )
            return kid, jwks_url(ctx.settings.public_url, group)

    kid, url = run(go())
    console.print(f"key {kid} stored for group {group}")
    console.print(f"register this JWKS URL with the EHR: {url}")
