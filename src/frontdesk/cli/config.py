"""``frontdesk config``: configuration as code (export, diff, apply, schema) and the
configuration versions of integration groups (history, rollback).

Exit codes of ``diff``: 0 nothing would change, 1 something would, 2 the file is invalid
(``apply`` also exits 2 for an invalid file; nothing is changed then).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from frontdesk.access.principal import Principal
from frontdesk.cli.runtime import console, err_console, opened_context, opened_process, run
from frontdesk.configuration.apply import apply_document
from frontdesk.configuration.document import FileProblem, Located, dump, json_schema, load
from frontdesk.configuration.rollback import rollback_group
from frontdesk.configuration.state import read_document
from frontdesk.configuration.versions import compare, list_versions
from frontdesk.db.bounds import MAX_BIGINT

DEFAULT_SECRETS_DIR = Path("/run/secrets")
app = typer.Typer(help="Configuration as code, versions and rollback.", no_args_is_help=True)

SecretsDir = Annotated[
    Path | None,
    typer.Option(
        "--secrets-dir",
        envvar="FRONTDESK_SECRETS_DIR",
        help="where {secret: NAME} files are read (default: FRONTDESK_SECRETS_DIR, /run/secrets)",
    ),
]


class _DryRun(Exception):
    """Raised to roll back the transaction of ``diff``."""


def _read(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from None
    try:
        return load(text)
    except FileProblem as problem:
        _invalid(path, problem)
        raise AssertionError from None  # unreachable: _invalid exits


def _secrets_dir(given: Path | None) -> Path | None:
    """The secrets directory: as given, else /run/secrets when present (as the settings)."""
    if given is None and DEFAULT_SECRETS_DIR.is_dir():
        return DEFAULT_SECRETS_DIR
    return given


def _invalid(path: Path, problem: FileProblem) -> None:
    where = f"{path}:{problem.line}" if problem.line else str(path)
    print(f"error: {where}: {problem.message}", file=sys.stderr)
    raise typer.Exit(2)


async def _run_file(
    path: Path, located: Located, secrets_dir: Path | None, commit: bool
) -> list[str]:
    changes: list[str] = []
    async with opened_process() as process:
        ctx = process.ctx
        try:
            async with ctx.db.transaction() as session:
                changes = await apply_document(
                    session,
                    located,
                    clock=ctx.clock,
                    secrets=ctx.secrets,
                    plugins=process.plugins,
                    secrets_dir=secrets_dir,
                    outbound=process.outbound,
                )
                if not commit:
                    raise _DryRun
        except _DryRun:
            pass
        except FileProblem as problem:
            _invalid(path, problem)
    return changes


@app.command("export")
def export_command(
    business: Annotated[
        int | None,
        typer.Option("--business", min=1, max=MAX_BIGINT, help="one business (and its locations)"),
    ] = None,
) -> None:
    """Print the configuration as YAML (secure values as {secret: NAME} references only)."""

    async def body() -> str:
        async with opened_context() as ctx, ctx.db.reader() as session:
            return dump(await read_document(session, business_number=business))

    sys.stdout.write(run(body()))


@app.command("diff")
def diff_command(file: Path, secrets_dir: SecretsDir = None) -> None:
    """Show what applying FILE would change (exit 0: nothing, 1: something, 2: invalid)."""
    located = _read(file)
    changes = run(_run_file(file, located, _secrets_dir(secrets_dir), commit=False))
    for line in changes:
        print(line)
    if changes:
        raise typer.Exit(1)
    console.print("nothing would change")


@app.command("apply")
def apply_command(file: Path, secrets_dir: SecretsDir = None) -> None:
    """Apply FILE in one transaction (nothing changes if any part is refused; exit 2)."""
    located = _read(file)
    changes = run(_run_file(file, located, _secrets_dir(secrets_dir), commit=True))
    for line in changes:
        print(line)
    console.print(f"{len(changes)} changes applied" if changes else "nothing to change")


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the configuration file."""
    print(json.dumps(json_schema(), indent=2, sort_keys=True))


@app.command("history")
def history_command(
    group: Annotated[int, typer.Option("--group", min=1, max=MAX_BIGINT, help="group id")],
    as_json: Annotated[
        bool, typer.Option("--json", help="a JSON array instead of a table")
    ] = False,
) -> None:
    """The configuration versions of a group with what each changed (secrets: changed only)."""

    async def body() -> list[dict[str, Any]]:
        async with opened_context() as ctx, ctx.db.reader() as session:
            versions = await list_versions(session, group_id=group, principal=Principal.system())
            rows: list[dict[str, Any]] = []
            for index, version in enumerate(versions):
                before = versions[index - 1] if index else None
                changes = compare(before, version, secrets=ctx.secrets)
                rows.append(
                    {
                        "version": version.number,
                        "at": version.created_at.isoformat(),
                        "actor": version.actor,
                        "origin": version.origin,
                        "removed": bool(version.snapshot.get("removed")),
                        "changes": [
                            {"path": c.path, "before": c.before, "after": c.after} for c in changes
                        ],
                    }
                )
            return rows

    rows = run(body())
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        removed = " (group removed)" if row["removed"] else ""
        console.print(
            f"version {row['version']}  {row['at'][:19]}  {row['actor']} ({row['origin']})"
            f"{removed}",
            markup=False,
        )
        for c in row["changes"]:
            console.print(
                f"  {c['path']}: {c['before'] or '-'} -> {c['after'] or '-'}", markup=False
            )


@app.command("rollback")
def rollback_command(
    group: Annotated[int, typer.Option("--group", min=1, max=MAX_BIGINT, help="group id")],
    to: Annotated[int, typer.Option("--to", min=1, help="the version to go back to")],
) -> None:
    """Bring a group back to one of its versions (secrets from the version's encrypted copy);
    the rollback is itself a new version."""

    async def body() -> tuple[list[str], int | None]:
        async with opened_process() as process, process.ctx.db.transaction() as session:
            result = await rollback_group(
                session,
                principal=Principal.system(),
                clock=process.ctx.clock,
                secrets=process.ctx.secrets,
                plugins=process.plugins,
                group_id=group,
                to=to,
            )
        return result.changes, result.version

    changes, version = run(body())
    for line in changes:
        print(line)
    if version is None:
        console.print(f"group {group} already matches version {to}")
    else:
        console.print(f"group {group} rolled back to version {to}: now version {version}")
