"""Every error answers ``{"error": {"code", "message", "field"}}``; nothing echoes input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
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


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a message that never echoes input, the field."""

    code: str = Field(description="stable machine-readable code, e.g. not_found")
    message: str = Field(description="for humans; quotes ids and field names, never values")
    field: str | None = Field(description="the request field at fault (dotted), if one is")


class ErrorOut(BaseModel):
    """Every error response of the JSON APIs."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int, str] = {
    400: "The request could not be read (e.g. a body that is not JSON)",
    401: "No or an unknown API key",
    403: "The key may not do this (e.g. a business key setting a staff-only property)",
    404: "Not found, or not visible to this key (another tenant's rows are never 403)",
    409: "Conflicts with the current state or a concurrent change",
    422: "A parameter or body field is invalid (ids out of range included)",
}
DOCUMENTED_PREFIXES = ("/api/", "/integration/")
"""Routes answering the ``{"error": ...}`` shape (the answering API has its own envelope)."""


def document_error_responses(app: FastAPI) -> None:
    """List the error responses, with the :class:`ErrorOut` schema, on every JSON API
    operation of ``app``'s OpenAPI document. Replaces FastAPI's default 422 schema, which is
    not what :func:`install_error_handlers` answers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        add_error_responses(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_error_responses(schema: dict[str, Any]) -> None:
    """Add :data:`ERROR_RESPONSES` to the operations under :data:`DOCUMENTED_PREFIXES`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    defs = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(defs.pop("$defs", {}))
    components["ErrorOut"] = defs
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(DOCUMENTED_PREFIXES):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                if status == 409 and method in ("get", "head"):
                    continue
                responses[str(status)] = {"description": description, "content": content}
    used = str(schema.get("paths", {}))
    if "HTTPValidationError" not in used:
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)


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


async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses to bind or compare: ids are bounded at the edge to 64
    bits (``db.bounds.DbId``), but some id columns are 32-bit on PostgreSQL — an id beyond
    a column's range names no row (404); anything else out of range is invalid input."""
    assert isinstance(exc, DataError)
    log.info("http.out_of_range", error_type=type(exc.orig).__name__)
    if type(exc.orig).__name__ == "NumericValueOutOfRange":
        return JSONResponse(error_body("not_found", "no such record"), 404)
    return JSONResponse(error_body("invalid_input", "a value is out of range"), 422)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("http.unhandled_error", error_type=type(exc).__name__)
    return JSONResponse(error_body("internal_error", "internal error"), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FrontdeskError, _frontdesk_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
