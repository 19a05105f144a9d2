"""Attach the dashboard to the app: page routers, ``/static``, HTML error pages.

:data:`PAGES` is the explicit registry of page route modules; a feature adding a page adds
its router here and its :class:`~frontdesk.web.nav.NavItem` to :data:`frontdesk.web.nav.NAV`.

Dashboard routes carry the ``dashboard`` tag: for them a :class:`FrontdeskError` (e.g. 404 for
another tenant's group) renders an HTML page instead of the JSON error envelope, and
:class:`LoginRequired` redirects to ``/login`` (for htmx requests, ``HX-Redirect``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ExceptionHandler

from frontdesk.errors import FrontdeskError, RequestError
from frontdesk.logs import get_logger
from frontdesk.web.auth import Forbidden, LoginRequired
from frontdesk.web.pages import (
    activations,
    add_integration,
    alerts,
    audit,
    checkins,
    config_history,
    edit_integration,
    hl7,
    integrations,
    login,
    outbox,
    tickets,
    usage,
)
from frontdesk.web.templating import render

log = get_logger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
DASHBOARD_TAG = "dashboard"

PAGES: tuple[APIRouter, ...] = (
    login.router,
    integrations.router,
    config_history.router,
    add_integration.router,
    edit_integration.router,
    checkins.router,
    outbox.router,
    tickets.router,
    hl7.router,
    activations.router,
    alerts.router,
    audit.router,
    usage.router,
)


def is_dashboard(request: Request) -> bool:
    route = request.scope.get("route")
    return DASHBOARD_TAG in (getattr(route, "tags", None) or [])


def mount_dashboard(app: FastAPI) -> None:
    """Include the dashboard's pages and static files in ``app``."""
    for router in PAGES:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    json_handler = app.exception_handlers.get(FrontdeskError)

    async def login_required(request: Request, _exc: Exception) -> Response:
        target = "/login?next=" + quote(request.url.path, safe="/")
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, Forbidden) else "not allowed"
        log.info("dashboard.forbidden", route=getattr(request.scope.get("route"), "path", None))
        return _error_page(request, 403, "Not allowed", message)

    async def frontdesk_error(request: Request, exc: Exception) -> Response:
        if not is_dashboard(request) or not isinstance(exc, FrontdeskError):
            assert json_handler is not None
            return await _call(json_handler, request, exc)
        status = exc.status_code if isinstance(exc, RequestError) else 500
        title = {404: "Not found", 403: "Not allowed"}.get(status, "Something went wrong")
        return _error_page(request, status, title, exc.message if status < 500 else title)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    if json_handler is not None:
        app.add_exception_handler(FrontdeskError, frontdesk_error)


async def _call(handler: ExceptionHandler, request: Request, exc: Exception) -> Response:
    response = await handler(request, exc)  # type: ignore[arg-type, misc]
    assert isinstance(response, Response)
    return response


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    staff = getattr(request.state, "staff", None)
    fragment = bool(request.headers.get("HX-Request"))
    return render(
        request,
        "_error.html" if fragment else "error.html",
        staff=staff,
        status_code=status,
        section="error",
        title=title,
        message=message,
    )
