"""The dashboard login under attack: a concurrent burst, lock-out by a stranger (issue 19,
findings 2 and 3)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import func, select

from frontdesk.audit.models import AuditEvent
from frontdesk.context import AppContext
from frontdesk.security import passwords
from frontdesk.staff import service as staff_service
from frontdesk.staff.service import LOCKOUT_AFTER
from frontdesk.staff.sessions import COOKIE_NAME

from .conftest import PASSWORD, UserFactory, csrf_of, login

pytestmark = pytest.mark.usefixtures("clock")


@asynccontextmanager
async def browser(app: object, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://frontdesk.test") as c:
        yield c


async def post_login(client: httpx.AsyncClient, csrf: str, password: str) -> httpx.Response:
    return await client.post(
        "/login", data={"csrf_token": csrf, "username": "ada", "password": password}
    )


async def test_a_concurrent_burst_of_wrong_passwords_then_the_right_one_gets_no_session(
    app: object, ctx: AppContext, make_user: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 2, dashboard: 49 wrong passwords and then the right one, all at once.

    A spy around argon2 counts verifications and makes wrong ones slower than the right one
    (as on a loaded server, where they finish in any order): a lock recorded only after the
    verifications would let the right one finish first and sign in."""
    await make_user("ada", "admin")
    verified: list[bool] = []

    def spy(password_hash: str, password: str | bytes) -> bool:
        ok = passwords.verify_password(password_hash, password)
        verified.append(ok)
        if not ok:
            time.sleep(0.3)
        return ok

    monkeypatch.setattr(staff_service, "verify_password", spy)
    async with browser(app, "198.51.100.7") as attacker:
        csrf = csrf_of((await attacker.get("/login")).text)
        passwords_sent = [f"wrong password {n}" for n in range(49)] + [PASSWORD]
        answers = await asyncio.gather(*(post_login(attacker, csrf, p) for p in passwords_sent))
        assert [a.status_code for a in answers] == [401] * 50
        assert COOKIE_NAME not in attacker.cookies
    # At most LOCKOUT_AFTER passwords were verified; the others were refused unseen.
    assert verified == [False] * LOCKOUT_AFTER
    async with ctx.db.reader() as session:
        logins = await session.scalar(
            select(func.count()).where(AuditEvent.action == "staff.login")
        )
        failures = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.action == "staff.login_failed")
                )
            )
            .scalars()
            .all()
        )
        reasons = [e.details["reason"] for e in failures]
    assert logins == 0
    assert reasons.count("bad_password") == LOCKOUT_AFTER
    assert reasons.count("locked") == 50 - LOCKOUT_AFTER


async def test_a_user_locked_from_one_address_still_signs_in_from_another(
    app: object, make_user: UserFactory
) -> None:
    await make_user("ada", "admin")
    async with browser(app, "198.51.100.7") as attacker:
        for n in range(LOCKOUT_AFTER):
            assert (await login(attacker, "ada", f"wrong password {n}")).status_code == 401
        assert (await login(attacker, "ada")).status_code == 401  # locked from here
    async with browser(app, "192.0.2.10") as office:
        assert (await login(office, "ada")).status_code == 303
        assert COOKIE_NAME in office.cookies
