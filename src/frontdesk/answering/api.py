"""HTTP: the Answering Service API v2 front controller (spec §4).

``{base}/index.php?resource=tokenCreate|as|adi|ticketStatus`` and ``{base}/`` as an alias, with
``base = /cc/modules/apiv2``. Everything that happens in here answers the answering envelope,
never the skeleton's ``{"error": ...}`` shape: documented outcomes with HTTP 200 (or, with
``FRONTDESK_ANSWERING__HTTP_STATUS_CODES=true``, the vendor code as the HTTP status), an unknown
resource with HTTP 404 (envelope code 404), another method with HTTP 405 (envelope code 901),
a body over the limit with HTTP 413 (envelope code 902) — our own codes, never the vendor's 405
or 413, which mean other things — and an unexpected error with HTTP 500 (envelope code 409,
"Database query failure").

Ticket creation honours an ``Idempotency-Key`` header or ``idempotency_key`` body field
(:mod:`frontdesk.answering.desk.idempotency`).

Resource names match case-insensitively. Bodies are read only for POST (a GET has none, so its
parameters are missing, as in PHP's ``$_POST``). The token comes from the query string, else
from the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from starlette.responses import Response

from frontdesk.answering import http_wire as wire
from frontdesk.answering.desk import idempotency
from frontdesk.answering.http_wire import (
    AnsweringFailure,
    ApiError,
    BodyTooLarge,
    Failure,
    envelope_response,
    is_blank,
    parse_params,
    read_body,
)
from frontdesk.answering.login import UNKNOWN_SOURCE, create_token
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.answering.tickets import create_ticket, ticket_status
from frontdesk.answering.tokens import authenticate
from frontdesk.context import AppContext
from frontdesk.logs import get_logger
from frontdesk.server.dependencies import get_answering, get_context

log = get_logger(__name__)
BASE_PATH = "/cc/modules/apiv2"
router = APIRouter(tags=["answering service API v2"])
Handler = Callable[
    [AppContext, AnsweringRuntime, Request, Mapping[str, str]], Awaitable[dict[str, str]]
]


def _token(query: Mapping[str, str], params: Mapping[str, str]) -> str | None:
    value = query.get("token")
    return value if not is_blank(value) else params.get("token")


async def _token_create(
    ctx: AppContext, runtime: AnsweringRuntime, request: Request, params: Mapping[str, str]
) -> dict[str, str]:
    token = await create_token(
        ctx,
        runtime,
        username=params.get("login_username"),
        login_password=params.get("login_password"),
        source=request.client.host if request.client is not None else UNKNOWN_SOURCE,
    )
    if runtime.meter is not None:
        runtime.meter.answering_call(params.get("login_username") or "")
    return {"token": token}


async def _create_ticket(
    ctx: AppContext, runtime: AnsweringRuntime, request: Request, params: Mapping[str, str]
) -> dict[str, str]:
    query = request.query_params
    caller = await authenticate(ctx, runtime, _token(query, params))
    if runtime.meter is not None:
        runtime.meter.answering_call(caller.username)
    key = params.get(idempotency.BODY_FIELD)
    if not is_blank(key):
        assert key is not None
        return await idempotency.create_ticket_once(
            ctx, runtime, caller=caller, params=params, key=key
        )
    return await create_ticket(ctx, runtime, caller=caller, params=params)


async def _ticket_status(
    ctx: AppContext, runtime: AnsweringRuntime, request: Request, params: Mapping[str, str]
) -> dict[str, str]:
    query = request.query_params
    caller = await authenticate(ctx, runtime, _token(query, params))
    if runtime.meter is not None:
        runtime.meter.answering_call(caller.username)
    ticket_id = query.get("ticket_id")
    if is_blank(ticket_id):
        ticket_id = params.get("ticket_id")
    return await ticket_status(ctx, caller=caller, ticket_id=ticket_id)


RESOURCES: dict[str, Handler] = {
    "tokencreate": _token_create,
    "as": _create_ticket,
    "adi": _create_ticket,
    "ticketstatus": _ticket_status,
}


def _error(code: int, message: str, status: int) -> Response:
    return envelope_response(errors=[ApiError(code, message)], status=status)


_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_SUMMARY = "Answering Service API v2 (resource=tokenCreate|as|adi|ticketStatus)"


@router.get(f"{BASE_PATH}/index.php", operation_id="answering_v2_get", summary=_SUMMARY)
@router.post(f"{BASE_PATH}/index.php", operation_id="answering_v2_post", summary=_SUMMARY)
@router.api_route(
    f"{BASE_PATH}/index.php", methods=["PUT", "PATCH", "DELETE"], include_in_schema=False
)
@router.api_route(f"{BASE_PATH}/", methods=_ALL_METHODS, include_in_schema=False)
async def answering_api(request: Request) -> Response:
    """The front controller: every outcome is one envelope (spec §4.2)."""
    ctx = get_context(request)
    runtime = get_answering(request)
    resource = request.query_params.get("resource", "")
    try:
        handler = RESOURCES.get(resource.lower())
        if handler is None:
            return _error(wire.UNKNOWN_RESOURCE, "Unknown resource", 404)
        if request.method not in ("GET", "POST"):
            response = _error(wire.METHOD_NOT_ALLOWED, "Method not allowed: use GET or POST", 405)
            response.headers["Allow"] = "GET, POST"
            return response
        body = (
            await read_body(request, runtime.options.max_body_bytes)
            if request.method == "POST"
            else b""
        )
        params = await parse_params(request, body)
        header_key = request.headers.get(idempotency.HEADER)
        if header_key is not None:  # the header wins over the body field
            params = {**params, idempotency.BODY_FIELD: header_key}
        result = await handler(ctx, runtime, request, params)
        return envelope_response(result=result)
    except AnsweringFailure as failure:
        status = failure.errors[0].code if runtime.options.http_status_codes else 200
        log.info("answering.refused", resource=resource, code=failure.failure.code)
        return envelope_response(errors=failure.errors, status=status)
    except BodyTooLarge as exc:
        log.info("answering.body_too_large", resource=resource, limit=exc.limit)
        message = f"Request body too large: the limit is {exc.limit} bytes"
        return _error(wire.BODY_TOO_LARGE, message, 413)
    except Exception as exc:  # the envelope, never a stack trace
        log.error("answering.unhandled_error", resource=resource, error_type=type(exc).__name__)
        return _error(Failure.DATABASE.code, Failure.DATABASE.message, 500)
