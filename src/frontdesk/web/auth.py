"""Who is looking at the dashboard, what the role allows, and the CSRF check of every POST.

Route modules declare what they need with dependencies:

- ``staff: Staff`` — a logged-in user (otherwise a redirect to ``/login``);
- ``staff: Annotated[StaffContext, Depends(require(Permission.X))]`` — and the role has X
  (otherwise 403);
- ``form: CheckedForm`` — on every POST: the form, after the CSRF token (hidden field
  ``csrf_token`` or header ``X-CSRF-Token``, which htmx sends from ``<body hx-headers>``)
  matched the session's (otherwise 403), and the ``Origin``, when sent, is this server.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData

from frontdesk.access.principal import Principal
from frontdesk.context import AppContext
from frontdesk.server.dependencies import get_context
from frontdesk.staff.models import StaffUser
from frontdesk.staff.roles import Permission, can
from frontdesk.staff.service import principal_of
from frontdesk.staff.sessions import COOKIE_NAME, resolve_session

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No live session: the page redirects to the login form."""


class Forbidden(Exception):
    """The role may not do this, or the CSRF check failed (403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StaffContext:
    """The logged-in user of this request."""

    user: StaffUser
    session_id: str
    csrf_token: str
    principal: Principal

    @property
    def role(self) -> str:
        return self.user.role

    def can(self, permission: Permission | str) -> bool:
        return can(self.user.role, Permission(permission))


async def staff_context(
    request: Request, ctx: Annotated[AppContext, Depends(get_context)]
) -> StaffContext:
    """The session's user, or :class:`LoginRequired`."""
    token = request.cookies.get(COOKIE_NAME, "")
    active = await resolve_session(ctx.db, clock=ctx.clock, token=token)
    if active is None:
        raise LoginRequired()
    staff = StaffContext(
        user=active.user,
        session_id=active.session_id,
        csrf_token=active.csrf_token,
        principal=principal_of(active.user),
    )
    request.state.staff = staff
    return staff


Staff = Annotated[StaffContext, Depends(staff_context)]


def require(permission: Permission) -> Callable[[StaffContext], Awaitable[StaffContext]]:
    """A dependency: the logged-in user, whose role must have ``permission``."""

    async def dependency(staff: Staff) -> StaffContext:
        if not staff.can(permission):
            raise Forbidden("your role does not allow this page")
        return staff

    return dependency


async def checked_form(request: Request, staff: Staff) -> FormData:
    """The POSTed form, once its CSRF token matches the session's; 403 otherwise."""
    form = await request.form()
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("the form was sent from another site")
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(
        sent.encode(), staff.csrf_token.encode()
    ):
        raise Forbidden("the form's security token is missing or out of date; reload the page")
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def safe_next(target: str | None) -> str:
    """A local path to return to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
