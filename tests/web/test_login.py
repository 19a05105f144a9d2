"""Login, logout, sessions, lockout and CSRF over HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from frontdesk.audit.models import AuditEvent
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.staff.models import StaffSession, StaffUser
from frontdesk.staff.service import ACCOUNT_LOCKOUT_AFTER, LOCKOUT_AFTER, LOCKOUT_FOR
from frontdesk.staff.sessions import COOKIE_NAME, IDLE_TIMEOUT, session_id_of
from frontdesk.web.mount import PAGES

from .conftest import PASSWORD, LoginAs, UserFactory, csrf_of, login

pytestmark = pytest.mark.usefixtures("clock")


async def test_pages_redirect_to_login_when_nobody_is_logged_in(client: httpx.AsyncClient) -> None:
    for path in ("/", "/integrations", "/integrations/new", "/integrations/groups/1"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
    htmx = await client.get("/integrations", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"] == "/login?next=/integrations"


async def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(
    client: httpx.AsyncClient, ctx: AppContext, make_user: UserFactory
) -> None:
    await make_user("ada", "admin")
    page = await client.get("/login")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    response = await client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "ADA ",
            "password": PASSWORD,
            "next": "/integrations",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/integrations"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE_NAME + "=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # public_url is http in tests
    token = client.cookies[COOKIE_NAME]
    async with ctx.db.reader() as session:
        stored = await session.get(StaffSession, session_id_of(token))
        assert stored is not None
        assert token not in {stored.id, stored.csrf_token}  # only the digest is stored
    listing = await client.get("/integrations")
    assert listing.status_code == 200
    assert "ada" in listing.text

    out = await client.post("/logout", data={"csrf_token": csrf_of(listing.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    async with ctx.db.reader() as session:
        assert await session.get(StaffSession, session_id_of(token)) is None
    client.cookies.set(COOKIE_NAME, token)  # a replayed cookie is dead
    assert (await client.get("/integrations")).status_code == 303


async def test_secure_cookie_when_the_public_url_is_https(
    app: object, ctx: AppContext, make_user: UserFactory
) -> None:
    ctx.settings.public_url = "https://frontdesk.example.org"
    await make_user("ada", "admin")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://frontdesk.test") as https:
        response = await login(https, "ada")
    assert response.status_code == 303
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE_NAME + "=")
    )
    assert "Secure" in cookie


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example/", "/\\evil.example"]
)
async def test_login_never_redirects_to_another_site(
    client: httpx.AsyncClient, make_user: UserFactory, next_path: str
) -> None:
    await make_user("ada", "admin")
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "ada",
            "password": PASSWORD,
            "next": next_path,
        },
    )
    assert response.headers["location"] == "/"


async def test_login_form_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    await make_user("ada", "admin")
    await client.get("/login")
    response = await client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 403
    assert COOKIE_NAME not in client.cookies


async def test_wrong_password_and_unknown_user_answer_the_same(
    client: httpx.AsyncClient, ctx: AppContext, make_user: UserFactory
) -> None:
    await make_user("ada", "admin")
    wrong = await login(client, "ada", "not the password")
    unknown = await login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "Sign-in failed. Check the username and password."
    assert message in wrong.text
    assert message in unknown.text
    async with ctx.db.reader() as session:
        events = (
            (await session.execute(select(AuditEvent).where(AuditEvent.action.like("staff.%"))))
            .scalars()
            .all()
        )
        failures = [e for e in events if e.action == "staff.login_failed"]
        assert [e.details["reason"] for e in failures] == ["bad_password", "unknown_user"]
        assert failures[1].target_id == "unknown"
        assert "nobody" not in str(failures[1].details)
        assert all("not the password" not in str(e.details) for e in events)


async def test_lockout_after_repeated_failures_then_unlock_after_the_period(
    client: httpx.AsyncClient, ctx: AppContext, clock: ManualClock, make_user: UserFactory
) -> None:
    await make_user("ada", "admin")
    for _ in range(LOCKOUT_AFTER):
        assert (await login(client, "ada", "wrong password!")).status_code == 401
    async with ctx.db.reader() as session:
        locked = (
            (await session.execute(select(AuditEvent).where(AuditEvent.action == "staff.locked")))
            .scalars()
            .all()
        )
        assert [(e.details["lock"], e.details["source"]) for e in locked] == [("pair", "127.0.0.1")]
    # Locked from this address: even the right password is refused, with the same message.
    refused = await login(client, "ada")
    assert refused.status_code == 401
    assert COOKIE_NAME not in client.cookies
    clock.advance(LOCKOUT_FOR + timedelta(seconds=1))
    assert (await login(client, "ada")).status_code == 303


async def test_account_lockout_ends_open_sessions(
    client: httpx.AsyncClient, app: object, ctx: AppContext, login_as: LoginAs
) -> None:
    await login_as("admin", username="ada")
    assert (await client.get("/integrations")).status_code == 200
    for n in range(ACCOUNT_LOCKOUT_AFTER // LOCKOUT_AFTER):
        transport = httpx.ASGITransport(app=app, client=(f"203.0.113.{n + 1}", 1234))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://frontdesk.test") as c:
            for _ in range(LOCKOUT_AFTER):
                await login(c, "ada", "wrong password!")
    assert (await client.get("/integrations")).status_code == 303


async def test_idle_sessions_expire(
    client: httpx.AsyncClient, clock: ManualClock, login_as: LoginAs
) -> None:
    await login_as("viewer")
    clock.advance(IDLE_TIMEOUT - timedelta(minutes=1))
    assert (await client.get("/integrations")).status_code == 200  # touches last_seen_at
    clock.advance(IDLE_TIMEOUT - timedelta(minutes=1))
    assert (await client.get("/integrations")).status_code == 200
    clock.advance(IDLE_TIMEOUT + timedelta(seconds=1))
    assert (await client.get("/integrations")).status_code == 303


async def test_inactive_user_cannot_log_in(
    client: httpx.AsyncClient, ctx: AppContext, make_user: UserFactory
) -> None:
    await make_user("ada", "admin")
    async with ctx.db.transaction() as session:
        user = (await session.execute(select(StaffUser))).scalar_one()
        user.active = False
    assert (await login(client, "ada")).status_code == 401


EDIT_POSTS = ("properties", "triggers", "mappings", "remove")  # Edit integration's forms


async def test_every_dashboard_post_refuses_a_missing_or_wrong_csrf_token(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    token = await login_as("admin")
    group = tenants["149547879572938"]
    posts = [
        "/logout",
        "/integrations/new",
        "/integrations/new/check",
        "/integrations/new/discover",
        f"/integrations/groups/{group}/check",
        f"/integrations/groups/{group}/reauthorize",
        f"/integrations/groups/{group}/run",
        *(f"/integrations/groups/{group}/{part}" for part in EDIT_POSTS),
        "/integrations/mappings/535353",
        "/integrations/mappings/535353/remove",
        "/outbox/424242/requeue",
        "/hl7/reprocess",
        "/activations",
        "/activations/616161/status",
        *(f"/tickets/T0/{action}" for action in ("assign", "transition", "notes", "refile")),
    ]
    routes = {
        route.path
        for router in PAGES
        for route in router.routes
        if isinstance(route, APIRoute)
        and "POST" in (route.methods or set())
        and route.path != "/login"
    }
    templated = {
        p.replace("424242", "{request_id}")
        .replace("535353", "{mapping_id}")
        .replace("616161", "{activation_id}")
        .replace(str(group), "{group_id}")
        .replace("/T0/", "/{ticket_id}/")
        for p in posts
    }
    assert templated == routes
    for path in posts:
        missing = await client.post(path, data={"business": "1"})
        assert missing.status_code == 403, path
        assert "security token" in missing.text
        wrong = await client.post(path, data={"csrf_token": "x" * 43})
        assert wrong.status_code == 403, path
        header = await client.post(path, headers={"X-CSRF-Token": token + "x"})
        assert header.status_code == 403, path
    foreign = await client.post(
        "/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert (await client.get("/integrations")).status_code == 200  # still logged in
