"""The wire format of the Answering Service API v2: parameters in, envelopes out (spec §4.1-4.2).

Requests carry string parameters as JSON, urlencoded or multipart bodies; a body that does not
parse counts as empty (ambiguity 22), so validation answers 407/413 rather than a parse error.
Responses are always one envelope::

    {"success": true,  "result": {...}, "errors": []}
    {"success": false, "result": [],    "errors": [{"code": 407, "message": "..."}]}

The vendor codes and their messages live in one table, :class:`Failure` (ambiguity 6: change
the mapping there).
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from frontdesk.answering.password_token import PHP_TRIM_CHARACTERS

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_PHP_TRIM = PHP_TRIM_CHARACTERS.decode("ascii")


class Failure(enum.Enum):
    """Every documented failure: (vendor code, message). Spec §4.7."""

    NO_PRACTICE_ACCESS = (405, "No Access to this practice")
    INVALID_DOCTOR = (406, "Invalid doctor code")
    INVALID_TICKET = (406, "Invalid Ticket")
    MISSING_FIELD = (407, "Missing required information")
    NOT_AUTHENTICATED = (408, "Not authenticated. Token has expired or user not found.")
    NO_API_ACCESS = (408, "Insufficient access to use API")
    DATABASE = (409, "Database query failure")
    INVALID_DOB = (410, "Invalid DoB format")
    NO_SECURE_MESSAGING = (411, "This doctor does not have Secure Messaging enabled")
    TOKEN_NOT_CREATED = (413, "Missing required information or unable to create token")
    MISSING_TICKET_ID = (413, "Missing required information on Ticket request: ticket_id")
    DOCTOR_NOT_IN_PRACTICE = (414, "Doctor submitted does not exist in submitted practice")
    IDEMPOTENCY_CONFLICT = (409, "Idempotency-Key already used with a different request")
    """Ours (the ticket desk): the vendor's 409 family, "the ticket was not stored"."""
    INVALID_IDEMPOTENCY_KEY = (407, "Invalid Idempotency-Key: use 1 to 255 characters")
    """Ours: a key the server cannot keep is refused rather than ignored."""

    @property
    def code(self) -> int:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


@dataclass(frozen=True, slots=True)
class ApiError:
    code: int
    message: str


class AnsweringFailure(Exception):
    """Raised by the answering services; the router renders it as the error envelope."""

    def __init__(self, failure: Failure, errors: Sequence[ApiError] | None = None) -> None:
        super().__init__(failure.name)
        self.failure = failure
        self.errors = list(errors) if errors else [ApiError(failure.code, failure.message)]


class BodyTooLarge(Exception):
    """The request body exceeds the limit (answered with HTTP 413 outside the contract)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body too large (limit {limit} bytes)")
        self.limit = limit


def is_blank(value: str | None) -> bool:
    """PHP's ``trim($v) == ''`` (its default character set, not Python's whitespace)."""
    return value is None or value.strip(_PHP_TRIM) == ""


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
