"""One Jinja2 environment for the dashboard; pages and htmx fragments render through it.

Every page gets ``staff`` (or None on the login page), ``csrf_token``, the navigation the
role may see, and helpers: ``local_time`` (a UTC instant in a location's zone),
``patient_detail`` (masks patient fields for roles that may not see them) and ``static``
(a URL with a cache-busting version). Responses carry the dashboard's security headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from frontdesk import __version__
from frontdesk.staff.roles import patient_detail
from frontdesk.web.auth import StaffContext
from frontdesk.web.nav import NAV

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def local_time(when: datetime | None, timezone: str, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
    """``when`` (aware UTC) as wall-clock time in ``timezone``; "—" for None."""
    if when is None:
        return "—"
    return when.astimezone(ZoneInfo(timezone)).strftime(fmt)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("frontdesk.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda path: f"/static/{path}?v={__version__}"
    env.globals["local_time"] = local_time
    env.globals["app_version"] = __version__
    return env


def render(
    request: Request,
    template: str,
    *,
    staff: StaffContext | None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page or fragment with the common context and the security headers."""
    nav = [item for item in NAV if staff is not None and staff.can(item.permission)]
    role = staff.role if staff is not None else ""
    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            staff=staff,
            csrf_token=staff.csrf_token if staff is not None else "",
            nav=nav,
            patient_detail=lambda value: patient_detail(role, value),
            **context,
        )
    )
    return HTMLResponse(
        html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )
