"""``/login``, ``/logout`` and ``/`` (the start page of the role).

The login form has its own CSRF protection (no session exists yet): ``GET /login`` sets a
random ``frontdesk_login_csrf`` cookie (``HttpOnly``, ``SameSite=Strict``) and puts the same
value in the form; ``POST /login`` refuses a mismatch. Every failure answers one message, so
the page does not tell unknown usernames, wrong passwords and locked accounts apart.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontdesk.context import AppContext
from frontdesk.server.dependencies import get_context
from frontdesk.staff.service import LOCKOUT_AFTER, LOCKOUT_FOR, authenticate
from frontdesk.staff.sessions import ABSOLUTE_TIMEOUT, COOKIE_NAME, end_session, start_session
from frontdesk.web.auth import (
    CSRF_FIELD,
    CheckedForm,
    LoginRequired,
    Staff,
    StaffContext,
    safe_next,
)
from frontdesk.web.auth import staff_context as resolve_staff
from frontdesk.web.nav import NAV
from frontdesk.web.templating import SECURITY_HEADERS, render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]

LOGIN_CSRF_COOKIE = "frontdesk_login_csrf"
FAILED_MESSAGE = (
    f"Sign-in failed. Check the username and password. After {LOCKOUT_AFTER} failed attempts "
    f"an account is locked on this device's network address for "
    f"{int(LOCKOUT_FOR.total_seconds() // 60)} minutes."
)


def secure_cookies(ctx: AppContext) -> bool:
    return ctx.settings.public_url.lower().startswith("https://")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, ctx: Context, next: str = "/") -> Response:
    return _login_form(request, ctx, next_path=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, ctx: Context) -> Response:
    form = await request.form()
    next_path = safe_next(_text(form.get("next")))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = _text(form.get(CSRF_FIELD))
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_form(
            request,
            ctx,
            next_path=next_path,
            error="The sign-in form expired. Please try again.",
            status_code=403,
        )
    username = _text(form.get("username"))[:200]
    result = await authenticate(
        ctx.db,
        clock=ctx.clock,
        username=username,
        password=_text(form.get("password")),
        source=request.client.host if request.client is not None else "unknown",
    )
    if not result.ok or result.user is None:
        return _login_form(
            request,
            ctx,
            next_path=next_path,
            error=FAILED_MESSAGE,
            username=username,
            status_code=401,
        )
    async with ctx.db.transaction() as session:
        token = await start_session(session, clock=ctx.clock, user=result.user)
    response = RedirectResponse(next_path, status_code=303, headers=dict(SECURITY_HEADERS))
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(ctx),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(ctx: Context, staff: Staff, _form: CheckedForm) -> Response:
    async with ctx.db.transaction() as session:
        await end_session(session, session_id=staff.session_id)
    response = RedirectResponse("/login", status_code=303, headers={"HX-Redirect": "/login"})
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, ctx: Context) -> Response:
    """The first page the role may open; the login form when nobody is logged in."""
    try:
        staff: StaffContext = await resolve_staff(request, ctx)
    except LoginRequired:
        return RedirectResponse("/login", status_code=303)
    for item in NAV:
        if staff.can(item.permission):
            return RedirectResponse(item.path, status_code=303)
    return render(request, "home.html", staff=staff, section="home")


def _login_form(
    request: Request,
    ctx: AppContext,
    *,
    next_path: str,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        staff=None,
        status_code=status_code,
        login_csrf=token,
        next_path=next_path,
        error=error,
        username=username,
        section="login",
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(ctx),
        path="/login",
    )
    return response


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
