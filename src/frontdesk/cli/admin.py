"""``frontdesk admin``: API keys, users, key rotation, patient-data purge."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from frontdesk.access.principal import Principal
from frontdesk.access.service import create_api_key
from frontdesk.cli.runtime import (
    cli_settings,
    console,
    err_console,
    opened_context,
    read_secret,
    run,
)
from frontdesk.db.bounds import MAX_BIGINT
from frontdesk.engagement.retention import purge_patient_data
from frontdesk.security.rotation import reencrypt_all
from frontdesk.security.secrets import SecretBox, generate_key, key_file, key_id, write_key_file
from frontdesk.staff.roles import ROLES
from frontdesk.staff.service import create_user

app = typer.Typer(help="Administration: API keys, users, secret keys.", no_args_is_help=True)


@app.command("create-api-key")
def create_api_key_command(
    name: Annotated[str, typer.Option("--name", help="what the key is for")],
    business: Annotated[
        int | None,
        typer.Option("--business", min=1, max=MAX_BIGINT, help="limit the key to this business"),
    ] = None,
) -> None:
    """Create an API key; the key alone is printed on the last line, once."""

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            created = await create_api_key(
                session,
                principal=Principal.system(),
                clock=ctx.clock,
                name=name,
                business_number=business,
            )
        scope = f"business {business}" if business else "staff (all businesses)"
        console.print(f"API key {created.key.id} '{name}' for {scope}; store it now:")
        print(created.secret)

    run(body())


@app.command("create-user")
def create_user_command(
    username: Annotated[str, typer.Option("--username", help="login name (case-insensitive)")],
    role: Annotated[str, typer.Option("--role", help="one of: " + ", ".join(ROLES))],
    business: Annotated[
        int | None,
        typer.Option("--business", min=1, max=MAX_BIGINT, help="limit the user to this business"),
    ] = None,
) -> None:
    """Create a dashboard user; the password is read from a prompt, or from stdin when piped."""
    password = read_secret("Password")
    if sys.stdin.isatty() and read_secret("Repeat the password") != password:
        err_console.print("[red]error:[/red] the passwords differ")
        raise typer.Exit(1)

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            user = await create_user(
                session,
                principal=Principal.system(),
                clock=ctx.clock,
                username=username,
                password=password,
                role=role,
                business_number=business,
            )
        scope = f"business {business}" if business else "all businesses"
        console.print(f"user {user.id} '{user.username}' ({user.role}) for {scope}")

    run(body())


@app.command("rotate-key")
def rotate_key_command(
    drop_old: Annotated[
        bool, typer.Option("--drop-old", help="remove retired keys after re-encrypting")
    ] = False,
) -> None:
    """Add a new secret key (key file) and re-encrypt every stored secret with it.

    With FRONTDESK_SECRET_KEYS set, put the new key first in that variable yourself, then run
    this command to re-encrypt with it.
    """

    async def body() -> None:
        settings = cli_settings()
        async with opened_context(settings) as ctx:
            keys = list(ctx.secrets.keys)
            if settings.secret_keys is None:
                keys.insert(0, generate_key())
                write_key_file(key_file(settings), keys)
            box = SecretBox(keys)
            report = await reencrypt_all(ctx.db, box)
            if drop_old and settings.secret_keys is None:
                write_key_file(key_file(settings), keys[:1])
        console.print(
            f"primary key {key_id(keys[0])}: re-encrypted {report.values} values "
            f"in {report.columns} columns"
        )

    run(body())


@app.command("purge-patient-data")
def purge_patient_data_command() -> None:
    """Clear the patient data of check-ins older than FRONTDESK_RETENTION__PATIENT_DATA_DAYS
    now (the daily job does the same); decisions and counts stay."""

    async def body() -> None:
        async with opened_context() as ctx:
            report = await purge_patient_data(ctx)
        console.print(
            f"appointments before {report.cutoff_day}: patient data cleared from "
            f"{report.checkins} check-ins and {report.review_requests} review-request errors"
        )

    run(body())
