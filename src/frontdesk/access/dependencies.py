"""FastAPI dependency: the caller's principal from ``Authorization: Bearer`` or ``X-API-Key``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from frontdesk.access.principal import Principal
from frontdesk.access.service import authenticate_key
from frontdesk.context import AppContext
from frontdesk.errors import AuthenticationRequired, PermissionDenied
from frontdesk.server.dependencies import get_context, get_process

_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer fd_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")


async def current_principal(
    request: Request,
    ctx: Annotated[AppContext, Depends(get_context)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Principal:
    """Authenticate the request or answer 401 (session users are resolved by the dashboard)."""
    existing = getattr(request.state, "principal", None)
    if isinstance(existing, Principal):
        return existing
    secret = bearer.credentials if bearer else header
    if not secret:
        raise AuthenticationRequired("an API key is required")
    async with ctx.db.reader() as session:
        principal = await authenticate_key(session, secret=secret)
    if principal is None:
        raise AuthenticationRequired("the API key is not valid")
    request.state.principal = principal
    meter = get_process(request).meter
    if meter.enabled:
        meter.api_call(principal.label, principal.business_scope)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


STAFF_ROLES = frozenset({"staff", "admin", "system"})


async def staff_principal(principal: CurrentPrincipal) -> Principal:
    """A staff API key (or an admin): unscoped AND in a staff role.

    Being unscoped is not enough: a dashboard viewer has no business scope either.
    """
    if not principal.is_staff or principal.role not in STAFF_ROLES:
        raise PermissionDenied("this needs a staff key")
    return principal


StaffPrincipal = Annotated[Principal, Depends(staff_principal)]
