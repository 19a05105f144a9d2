"""The wire format of the Answering Service API v2: parameters in, envelopes out (spec §4.1-4.2).

Requests carry string parameters as JSON, urlencoded or multipart bodies; a body that does not
parse counts as empty (ambiguity 22), so validation answers 407/413 rather than a parse error.
Responses are always one envelope::

    {"success": true,  "result": {...}, "errors": []}
    {"success": false, "result": [],    "errors": [{"code": 407, "message": "..."}]}

The vendor codes and their messages live in :mod:`frontdesk.answering.failures`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from frontdesk.answering.failures import (
    AnsweringFailure,
    ApiError,
    BodyTooLarge,
    Failure,
    is_blank,
)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

UNKNOWN_RESOURCE = 404
"""Ours, outside the contract: no such ``resource`` (HTTP 404). The vendor has no 404."""
METHOD_NOT_ALLOWED = 901
"""Ours, outside the contract: a method other than GET/POST (HTTP 405). Not 405: that is the
vendor's "No Access to this practice"."""
BODY_TOO_LARGE = 902
"""Ours, outside the contract: a body over the limit (HTTP 413). Not 413: that is the vendor's
"Missing required information or unable to create token". The vendor's codes are 200 and
405-414; frontdesk's own transport failures use 9xx so a client can never read one as a vendor
outcome (docs/answering.md)."""


def envelope_response(
    *, result: Mapping[str, str] | None = None, errors: Sequence[ApiError] = (), status: int = 200
) -> Response:
    body: dict[str, Any] = {
        "success": not errors,
        "result": dict(result) if result is not None and not errors else [],
        "errors": [{"code": e.code, "message": e.message} for e in errors],
    }
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type=JSON_CONTENT_TYPE,
    )


def php_string(value: Any) -> str | None:
    """A JSON scalar as PHP's string conversion gives it; None for arrays and objects."""
    if isinstance(value, str):
        return value
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes (declared or actually sent)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_params(request: Request, body: bytes) -> dict[str, str]:
    """The body's parameters as strings (later duplicates win, as in PHP's ``$_POST``)."""
    if not body:
        return {}
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return _urlencoded(body)
    if content_type == "multipart/form-data":
        return await _multipart(request, body)
    if content_type.endswith("json") or body.lstrip()[:1] == b"{":
        return _json(body)
    return {}


def _json(body: bytes) -> dict[str, str]:
    """A JSON object's scalar members; a body that does not parse counts as empty
    (resolution 22), including one nested too deeply for the parser (RecursionError)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in data.items():
        text = php_string(value)
        if text is not None:
            out[str(key)] = text
    return out


def _urlencoded(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    return dict(parse_qsl(text, keep_blank_values=True))


async def _multipart(request: Request, body: bytes) -> dict[str, str]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(request.headers, stream(), max_files=10, max_fields=1000)
    try:
        form = await parser.parse()
    except MultiPartException:
        return {}
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            await value.close()
            continue
        out[key] = value
    await form.close()
    return out


__all__ = [
    "BODY_TOO_LARGE",
    "JSON_CONTENT_TYPE",
    "METHOD_NOT_ALLOWED",
    "UNKNOWN_RESOURCE",
    "AnsweringFailure",
    "ApiError",
    "BodyTooLarge",
    "Failure",
    "envelope_response",
    "is_blank",
    "parse_params",
    "php_string",
    "read_body",
]
