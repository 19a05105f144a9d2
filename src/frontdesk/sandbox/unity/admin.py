"""The sandbox admin API, under ``/sandbox/admin/`` (JSON in, JSON out; no authentication,
the sandbox is a test tool meant for loopback).

- ``GET /sandbox/admin/knobs``; ``PUT`` replaces all knobs; ``PATCH`` changes some;
  ``POST /sandbox/admin/knobs/reset`` restores the start knobs. Invalid knobs → 422.
- ``POST /sandbox/admin/users/{user}/expire-password`` and ``.../renew-password``
  (body ``{"password": "..."}`` optional); ``?service_user=`` limits to one credential.
- ``POST /sandbox/admin/tokens/expire`` (body ``{"token": ..., "service_user": ...}``,
  both optional; empty = every token); ``GET /sandbox/admin/tokens`` counts live tokens.
- ``POST /sandbox/admin/clock/advance`` with ``{"seconds": N}``.
- ``POST /sandbox/admin/clients/activate`` and ``.../deactivate`` (``?service_user=`` limits
  to one credential; none = all): the vendor activating our application for the client
  (``frontdesk sandbox unity --not-activated`` starts with it not activated);
  ``GET /sandbox/admin/clients`` lists each credential's activation.
- ``GET /sandbox/admin/credentials``: credentials without passwords, with their locations.
- ``GET /sandbox/admin/appointments?date=YYYY-MM-DD[&service_user=...]``: expected ids.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk.sandbox.unity.knobs import Knobs
from frontdesk.sandbox.unity.sandbox import Sandbox

PREFIX = "/sandbox/admin"


class TokenExpiry(BaseModel):
    """Which tokens to expire; nothing set = all."""

    model_config = ConfigDict(extra="forbid")
    token: str | None = None
    service_user: str | None = None


class PasswordRenewal(BaseModel):
    """Optional new password for a renewed PM user."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = None


class ClockAdvance(BaseModel):
    """How far to move the sandbox clock."""

    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0)


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


async def _json_body(request: Request) -> Any:
    body = await request.body()
    return json.loads(body) if body.strip() else {}


def _invalid(error: Exception) -> JSONResponse:
    if isinstance(error, ValidationError):
        detail: Any = json.loads(error.json(include_url=False, include_input=False))
    else:
        detail = str(error)
    return JSONResponse({"detail": detail}, status_code=422)


async def get_knobs(request: Request) -> Response:
    """The knobs in force."""
    return JSONResponse(_sandbox(request).knobs.model_dump(mode="json"))


async def put_knobs(request: Request) -> Response:
    """Replace every knob (omitted fields take their defaults)."""
    try:
        knobs = Knobs.model_validate(await _json_body(request))
    except (ValueError, ValidationError) as error:
        return _invalid(error)
    return JSONResponse(_sandbox(request).set_knobs(knobs).model_dump(mode="json"))


async def patch_knobs(request: Request) -> Response:
    """Change the given knobs, keep the others."""
    try:
        changes = await _json_body(request)
        if not isinstance(changes, dict):
            raise ValueError("body must be a JSON object")
        knobs = _sandbox(request).update_knobs(**changes)
    except (ValueError, ValidationError) as error:
        return _invalid(error)
    return JSONResponse(knobs.model_dump(mode="json"))


async def reset_knobs(request: Request) -> Response:
    """Restore the knobs the sandbox started with."""
    return JSONResponse(_sandbox(request).reset_knobs().model_dump(mode="json"))


async def expire_password(request: Request) -> Response:
    """Expire a PM user's password."""
    user = request.path_params["user"]
    count = _sandbox(request).expire_password(
        user, service_user=request.query_params.get("service_user")
    )
    return JSONResponse({"user": user, "accounts": count}, status_code=200 if count else 404)


async def renew_password(request: Request) -> Response:
    """Clear a PM user's expiry and lockout, optionally setting a new password."""
    user = request.path_params["user"]
    try:
        renewal = PasswordRenewal.model_validate(await _json_body(request))
    except (ValueError, ValidationError) as error:
        return _invalid(error)
    count = _sandbox(request).renew_password(
        user, password=renewal.password, service_user=request.query_params.get("service_user")
    )
    return JSONResponse({"user": user, "accounts": count}, status_code=200 if count else 404)


async def expire_tokens(request: Request) -> Response:
    """Force tokens to expire now."""
    try:
        which = TokenExpiry.model_validate(await _json_body(request))
    except (ValueError, ValidationError) as error:
        return _invalid(error)
    count = _sandbox(request).expire_tokens(token=which.token, service_user=which.service_user)
    return JSONResponse({"expired": count})


async def count_tokens(request: Request) -> Response:
    """Live tokens per credential (the token values themselves are not shown)."""
    sessions = _sandbox(request).tokens.sessions()
    per_credential = Counter(session.service_user for session in sessions)
    return JSONResponse({"live": len(sessions), "by_service_user": dict(per_credential)})


async def advance_clock(request: Request) -> Response:
    """Move the sandbox clock forward (token idle expiry, GetServerInfo, rate limit)."""
    try:
        step = ClockAdvance.model_validate(await _json_body(request))
    except (ValueError, ValidationError) as error:
        return _invalid(error)
    sandbox = _sandbox(request)
    sandbox.clock.advance(step.seconds)
    return JSONResponse({"now": sandbox.now().isoformat()})


async def activate_clients(request: Request) -> Response:
    """The vendor activates our application for one client (or all)."""
    return _set_activated(request, activated=True)


async def deactivate_clients(request: Request) -> Response:
    """Back to "not activated" for one client (or all)."""
    return _set_activated(request, activated=False)


def _set_activated(request: Request, *, activated: bool) -> Response:
    try:
        changed = _sandbox(request).set_activated(
            activated, service_user=request.query_params.get("service_user")
        )
    except KeyError as error:
        return JSONResponse({"detail": str(error)}, status_code=404)
    return JSONResponse({"activated": activated, "changed": changed})


async def list_clients(request: Request) -> Response:
    """Each credential's service user and whether our application is activated for it."""
    sandbox = _sandbox(request)
    return JSONResponse(
        [
            {"service_user": c.service_user, "activated": sandbox.is_activated(c.service_user)}
            for c in sandbox.config.credentials
        ]
    )


async def list_credentials(request: Request) -> Response:
    """Each credential's service user, Appname, PM users, licence and locations."""
    sandbox = _sandbox(request)
    listing = []
    for credential in sandbox.config.credentials:
        enterprise = sandbox.practice_for(credential.service_user).enterprise
        listing.append(
            {
                "service_user": credential.service_user,
                "appname": credential.appname,
                "pm_users": [user.username for user in credential.users],
                "licensed_actions": list(credential.licensed_actions),
                "enterprise": enterprise.name,
                "locations": [location.name for location in enterprise.locations],
            }
        )
    return JSONResponse(listing)


async def expected_appointments(request: Request) -> Response:
    """Ids of the appointments GetSchedule serves for a date (P4=All, no filters)."""
    try:
        day = date.fromisoformat(request.query_params.get("date", ""))
        practice = _sandbox(request).practice_for(request.query_params.get("service_user"))
    except (ValueError, KeyError) as error:
        return _invalid(error)
    ids = [appointment.appointment_id for appointment in practice.appointments_on(day)]
    return JSONResponse({"date": day.isoformat(), "count": len(ids), "appointment_ids": ids})


def admin_routes() -> list[BaseRoute]:
    """The admin routes, to mount before the Unity catch-all route."""
    return [
        Route(f"{PREFIX}/knobs", get_knobs, methods=["GET"]),
        Route(f"{PREFIX}/knobs", put_knobs, methods=["PUT"]),
        Route(f"{PREFIX}/knobs", patch_knobs, methods=["PATCH"]),
        Route(f"{PREFIX}/knobs/reset", reset_knobs, methods=["POST"]),
        Route(f"{PREFIX}/users/{{user}}/expire-password", expire_password, methods=["POST"]),
        Route(f"{PREFIX}/users/{{user}}/renew-password", renew_password, methods=["POST"]),
        Route(f"{PREFIX}/tokens/expire", expire_tokens, methods=["POST"]),
        Route(f"{PREFIX}/tokens", count_tokens, methods=["GET"]),
        Route(f"{PREFIX}/clock/advance", advance_clock, methods=["POST"]),
        Route(f"{PREFIX}/credentials", list_credentials, methods=["GET"]),
        Route(f"{PREFIX}/clients", list_clients, methods=["GET"]),
        Route(f"{PREFIX}/clients/activate", activate_clients, methods=["POST"]),
        Route(f"{PREFIX}/clients/deactivate", deactivate_clients, methods=["POST"]),
        Route(f"{PREFIX}/appointments", expected_appointments, methods=["GET"]),
    ]
