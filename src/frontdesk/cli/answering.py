"""``frontdesk answering``: answering-service API users, practices, doctors, lockouts, nurses'
practices, and the client side (``encrypt-password``, ``token``, ``submit``, ``status``).

The client commands never take a password or key in argv: the key comes from ``--key-file``
(raw bytes; one trailing LF or CRLF is dropped, because editors add one), the password from
``--password-file`` (same rule) or else a prompt / the first line of stdin.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from frontdesk.access.principal import Principal
from frontdesk.answering import accounts, login
from frontdesk.answering.client import (
    AnsweringApiError,
    AnsweringClient,
    AnsweringUnavailable,
    encrypt_password,
)
from frontdesk.answering.desk.practice_links import set_practice_links
from frontdesk.answering.desk.visibility import ticket_access
from frontdesk.answering.models import AnsweringLockout
from frontdesk.cli.listing import TABLE_ROWS, print_listing
from frontdesk.cli.runtime import Column, console, err_console, opened_context, read_secret, run

app = typer.Typer(
    help="Answering Service API v2: accounts, lockouts, and a client.", no_args_is_help=True
)


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


LOCKOUT_COLUMNS: list[Column] = [
    ("username", lambda row: row["username"]),
    ("locked at", lambda row: row["locked_at"][:19]),
    ("until", lambda row: row["locked_until"][:19]),
    ("failures", lambda row: str(row["failures"])),
    ("state", lambda row: row["state"]),
]


def _lockout_row(lock: AnsweringLockout, now: datetime) -> dict[str, Any]:
    if lock.released_at:
        state = f"released by {lock.released_by}"
    else:
        state = "active" if lock.locked_until > now else "expired"
    return {
        "username": lock.username,
        "locked_at": lock.locked_at.isoformat(),
        "locked_until": lock.locked_until.isoformat(),
        "failures": lock.failures,
        "released_at": lock.released_at.isoformat() if lock.released_at else None,
        "released_by": lock.released_by,
        "state": state,
    }


@app.command("lockouts")
def lockouts_command(
    release: Annotated[
        str | None, typer.Option("--release", help="release the lock of this username")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help=f"at most this many (default: all with --json, {TABLE_ROWS} in a table)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON array of every lockout")] = False,
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

            async def shown(rows: Sequence[AnsweringLockout]) -> list[dict[str, Any]]:
                return [_lockout_row(lock, now) for lock in rows]

            async with ctx.db.reader() as session:
                await print_listing(
                    session,
                    login.matching_lockouts(now=now),
                    AnsweringLockout.id,
                    shown=shown,
                    columns=LOCKOUT_COLUMNS,
                    limit=limit,
                    as_json=as_json,
                    noun="lockouts",
                )

    run(body())


@app.command("link-practices")
def link_practices_command(
    user: Annotated[str, typer.Option("--user", help="the staff user (username or id)")],
    practice: Annotated[
        list[str] | None, typer.Option("--practice", help="a practice code (repeat; none: unlink)")
    ] = None,
) -> None:
    """Set the practices whose tickets a staff user (nurse) works."""

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            principal = Principal.system()
            member, codes = await set_practice_links(
                session,
                access=await ticket_access(session, principal),
                clock=ctx.clock,
                user=user,
                practices=practice or [],
            )
        console.print(f"{member.username} ({member.role}) works: {', '.join(codes) or 'nothing'}")

    run(body())


KeyFile = Annotated[
    Path,
    typer.Option(
        "--key-file",
        exists=True,
        dir_okay=False,
        help="the shared encryption key, raw bytes (one trailing newline is dropped)",
    ),
]
Url = Annotated[str, typer.Option("--url", help="the server, e.g. https://frontdesk.example")]
Username = Annotated[str, typer.Option("--username", help="the API username")]
PasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        exists=True,
        dir_okay=False,
        help="read the password here (default: prompt, or the first line of stdin)",
    ),
]


def read_line_file(path: Path) -> bytes:
    """A file's bytes without one trailing LF or CRLF (the only change made to a key)."""
    raw = path.read_bytes()
    if raw.endswith(b"\r\n"):
        return raw[:-2]
    return raw[:-1] if raw.endswith(b"\n") else raw


def _password(password_file: Path | None) -> bytes:
    if password_file is not None:
        return read_line_file(password_file)
    return read_secret("Password").encode("utf-8")


def _client(url: str, username: str, key_file: Path, password_file: Path | None) -> AnsweringClient:
    try:
        return AnsweringClient(url, username, _password(password_file), read_line_file(key_file))
    except ValueError as exc:
        err_console.print(f"[red]error (url):[/red] {exc}")
        raise typer.Exit(2) from None


async def _client_call(client: AnsweringClient, call: str, *args: object) -> object:
    try:
        async with client:
            method = getattr(client, call)
            return await method(*args)
    except AnsweringApiError as exc:
        err_console.print(f"error: {exc.message}", markup=False)
        raise typer.Exit(1) from None
    except AnsweringUnavailable as exc:
        err_console.print(f"unavailable: {exc.message}", markup=False)
        raise typer.Exit(3) from None


@app.command("encrypt-password")
def encrypt_password_command(key_file: KeyFile) -> None:
    """Print the PHP-compatible login_password token (password from a prompt or stdin)."""
    password = read_secret("Password").encode("utf-8")
    typer.echo(encrypt_password(password, read_line_file(key_file)))


@app.command("token")
def token_command(
    url: Url, username: Username, key_file: KeyFile, password_file: PasswordFile = None
) -> None:
    """Create an API token (tokenCreate) and print it."""
    client = _client(url, username, key_file, password_file)
    typer.echo(str(run(_client_call(client, "token"))))


@app.command("submit")
def submit_command(
    url: Url,
    username: Username,
    key_file: KeyFile,
    json_file: Annotated[
        str, typer.Option("--json", help="the ticket fields as a JSON object; - for stdin")
    ],
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="retry-safe: same key, same ticket")
    ] = None,
    password_file: PasswordFile = None,
) -> None:
    """Submit a ticket and print the result as JSON.

    With ``--json -`` and no ``--password-file``, stdin holds the password on its first line
    and the JSON after it.
    """
    client = _client(url, username, key_file, password_file)
    text = sys.stdin.read() if json_file == "-" else Path(json_file).read_text("utf-8")
    try:
        fields = json.loads(text)
    except ValueError:
        err_console.print("error (json): not valid JSON", markup=False)
        raise typer.Exit(2) from None
    if not isinstance(fields, dict):
        err_console.print("error (json): expected a JSON object", markup=False)
        raise typer.Exit(2)
    ticket = {str(k): str(v) for k, v in fields.items()}
    result = run(_client_call(client, "submit", ticket, idempotency_key))
    typer.echo(json.dumps(result, indent=2))


@app.command("status")
def status_command(
    url: Url,
    username: Username,
    key_file: KeyFile,
    ticket: Annotated[str, typer.Option("--ticket", help="the ticket id")],
    password_file: PasswordFile = None,
) -> None:
    """Print a ticket's status (ticketStatus)."""
    client = _client(url, username, key_file, password_file)
    typer.echo(str(run(_client_call(client, "status", ticket))))
