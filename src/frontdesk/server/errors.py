"""Every error answers ``{"error": {"code", "message", "field"}}``; nothing echoes input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontdesk.errors import FrontdeskError, RequestError, TransientError
from frontdesk.logs import get_logger

log = get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


async def _frontdesk_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FrontdeskError)
    if isinstance(exc, RequestError):
        status = exc.status_code
    elif isinstance(exc, TransientError):
        status = 503
    else:
        status = 500 if exc.code == "fatal_error" else 422
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(exc.code, exc.message, exc.field), status, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return JSONResponse(error_body("malformed_json", "the body is not valid JSON"), 422)
    field = _field(first.get("loc", ()))
    message = str(first.get("msg", "invalid input"))
    log.info("http.invalid_input", fields=[_field(e.get("loc", ())) for e in errors])
    return JSONResponse(error_body("invalid_input", message, field), 422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(
        error_body(code, str(exc.detail)), exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("http.unhandled_error", error_type=type(exc).__name__)
    return JSONResponse(error_body("internal_error", "internal error"), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FrontdeskError, _frontdesk_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
