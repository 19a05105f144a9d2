"""``frontdesk answering``: answering-service API users, practices, doctors, lockouts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from frontdesk.access.principal import Principal
from frontdesk.answering import accounts, login
from frontdesk.cli.runtime import console, opened_context, read_secret, run

app = typer.Typer(help="Answering Service API v2: accounts and lockouts.", no_args_is_help=True)


@app.command("add-user")
def add_user_command(
    username: Annotated[str, typer.Option("--username", help="the API username")],
    company: Annotated[str, typer.Option("--company", help="the COMPANY field")],
    practice: Annotated[
        list[str], typer.Option("--practice", help="a practice code the user may use (repeat)")
    ],
    password: Annotated[
        str | None, typer.Option("--password", help="default: read from the terminal or stdin")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="the shared encryption key; default: read like the password"),
    ] = None,
    unassigned_practice: Annotated[
        str | None,
        typer.Option(
            "--unassigned-practice",
            help="file the company's tickets for unknown practices under this practice code",
        ),
    ] = None,
) -> None:
    """Create an API user, its company and practices as needed (never all practices)."""
    secret = password if password is not None else read_secret("password")
    shared_key = key if key is not None else read_secret("encryption key")

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            view = await accounts.create_user(
                session,
                principal=Principal.system(),
                clock=ctx.clock,
                secrets=ctx.secrets,
                username=username,
                password=secret,
                key=shared_key,
                company=company,
                practices=practice,
            )
            if unassigned_practice:
                await accounts.set_unassigned_practice(
                    session,
                    principal=Principal.system(),
                    clock=ctx.clock,
                    company_name=company,
                    practice_code=unassigned_practice,
                )
        console.print(
            f"added API user {view.user.username!r} of {view.company.name!r} "
            f"for practices {', '.join(view.practice_codes)}"
        )

    run(body())


@app.command("add-doctor")
def add_doctor_command(
    practice: Annotated[str, typer.Option("--practice", help="the practice code")],
    code: Annotated[str, typer.Option("--code", help="the doctor code (dc)")],
    name: Annotated[str, typer.Option("--name")] = "",
    no_secure_messaging: Annotated[
        bool, typer.Option("--no-secure-messaging", help="tickets naming this doctor get 411")
    ] = False,
) -> None:
    """Add a doctor code to an existing practice."""

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            doctor = await accounts.add_doctor(
                session,
                principal=Principal.system(),
                clock=ctx.clock,
                practice_code=practice,
                code=code,
                name=name,
                secure_messaging=not no_secure_messaging,
            )
        flag = "with" if doctor.secure_messaging else "without"
        console.print(
            f"added doctor {doctor.code!r} to practice {practice!r} ({flag} secure messaging)"
        )

    run(body())


@app.command("lockouts")
def lockouts_command(
    release: Annotated[
        str | None, typer.Option("--release", help="release the lock of this username")
    ] = None,
) -> None:
    """List username lockouts (newest first), or release one."""

    async def body() -> None:
        async with opened_context() as ctx:
            if release is not None:
                async with ctx.db.transaction() as session:
                    await login.release_lockout(
                        session, principal=Principal.system(), clock=ctx.clock, username=release
                    )
                console.print(f"released the lock of {release!r}")
                return
            now = ctx.clock.now()
            async with ctx.db.reader() as session:
                rows = await login.list_lockouts(session, now=now)
            table = Table("username", "locked at", "until", "failures", "state")
            for lock in rows:
                state = (
                    f"released by {lock.released_by}"
                    if lock.released_at
                    else ("active" if lock.locked_until > now else "expired")
                )
                table.add_row(
                    lock.username,
                    lock.locked_at.isoformat(timespec="seconds"),
                    lock.locked_until.isoformat(timespec="seconds"),
                    str(lock.failures),
                    state,
                )
            console.print(table)

    run(body())
