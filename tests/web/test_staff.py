"""Staff users: the service's rules and ``frontdesk admin create-user``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from frontdesk.access.principal import Principal
from frontdesk.cli.main import app as cli
from frontdesk.context import AppContext
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.security.passwords import verify_password
from frontdesk.staff.models import StaffUser
from frontdesk.staff.service import authenticate, create_user, practices_of

from .conftest import PASSWORD


async def make(ctx: AppContext, **kwargs: object) -> StaffUser:
    args: dict[str, object] = {"username": "ada", "password": PASSWORD, "role": "admin"} | kwargs
    async with ctx.db.transaction() as session:
        return await create_user(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            **args,  # type: ignore[arg-type]
        )


async def test_create_user_stores_an_argon2_hash_only(ctx: AppContext) -> None:
    user = await make(ctx, username=" Ada.Lovelace ", role="Support")
    assert user.username == "ada.lovelace"
    assert user.role == "support"
    assert user.business_id is None
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)
    async with ctx.db.reader() as session:
        assert await practices_of(session, user_id=user.id) == []
    result = await authenticate(ctx.db, clock=ctx.clock, username="ADA.LOVELACE", password=PASSWORD)
    assert result.ok


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        pytest.param({"password": "short"}, InvalidInput, "password", id="short-password"),
        pytest.param({"role": "root"}, InvalidInput, "role", id="unknown-role"),
        pytest.param({"username": "a b"}, InvalidInput, "username", id="bad-username"),
        pytest.param({"username": ""}, InvalidInput, "username", id="empty-username"),
        pytest.param(
            {"business_number": 149547800000009}, NotFound, "businessNumber", id="no-business"
        ),
    ],
)
async def test_create_user_refuses(
    ctx: AppContext, changes: dict[str, object], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as raised:
        await make(ctx, **changes)
    assert getattr(raised.value, "field", None) == field


async def test_usernames_are_unique_whatever_the_case(ctx: AppContext) -> None:
    await make(ctx)
    with pytest.raises(Conflict):
        await make(ctx, username="ADA")


def test_cli_create_user_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FRONTDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FRONTDESK_SECRET_KEYS", raising=False)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["admin", "create-user", "--username", "Nina", "--role", "nurse"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "'nina' (nurse) for all businesses" in result.output
    assert PASSWORD not in result.output
    short = runner.invoke(
        cli, ["admin", "create-user", "--username", "x", "--role", "viewer"], input="short\n"
    )
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    role = runner.invoke(
        cli, ["admin", "create-user", "--username", "y", "--role", "owner"], input=PASSWORD + "\n"
    )
    assert role.exit_code == 1
    assert "admin, support, nurse, viewer" in role.output


async def test_a_new_user_starts_without_failures_or_lock(ctx: AppContext) -> None:
    user = await make(ctx, username="viewer1", role="viewer")
    async with ctx.db.reader() as session:
        row = (await session.execute(select(StaffUser).where(StaffUser.id == user.id))).scalar_one()
        assert row.failed_logins == 0
        assert row.locked_until is None
