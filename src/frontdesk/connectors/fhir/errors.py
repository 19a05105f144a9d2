"""How a FHIR server's failures map onto the connector error tree, classified once here.

::

    HTTP / body                               error (frontdesk.connectors.errors)
    ----------------------------------------  ------------------------------------------------
    token endpoint 400/401 invalid_client,    CredentialsRejected(wrong_service_credentials)
      invalid_grant, unauthorized_client
    token endpoint invalid_scope, 403         CredentialsRejected(forbidden)
    API 401 (after one fresh token)           CredentialsRejected(forbidden)
    API 403                                   CredentialsRejected(forbidden)
    404                                       EndpointNotFound (fhir.base.url)
    429 (+ Retry-After)                       RateLimited (retried, Retry-After honoured)
    5xx                                       RemoteServerError (retried)
    other 4xx with an OperationOutcome        RemoteRejected (a request we built wrong)
    a body that is not the JSON promised      ProtocolViolation

Messages carry the HTTP status, the call's name, and the OperationOutcome's issue codes and
``diagnostics`` scrubbed (:func:`~frontdesk.connectors.errors.remote_text`) — never a body,
a token, an assertion or a patient field.
"""

from __future__ import annotations

from typing import Any

import orjson

from frontdesk.connectors.errors import (
    CredentialsRejected,
    EndpointNotFound,
    ProtocolViolation,
    RateLimited,
    RemoteRejected,
    RemoteServerError,
    remote_text,
)
from frontdesk.errors import FrontdeskError

BASE_URL = "fhir.base.url"
_CLIENT_ERRORS = {"invalid_client", "invalid_grant", "unauthorized_client"}


def outcome_text(body: bytes) -> str:
    """The issue codes and diagnostics of an OperationOutcome body ("" when it is not one)."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(data, dict) or data.get("resourceType") != "OperationOutcome":
        return ""
    parts: list[str] = []
    for issue in data.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        code = str(issue.get("code") or "")
        words = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        parts.append(f"{code}: {words}" if words else code)
    return remote_text("; ".join(p for p in parts if p))


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds only; an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)


def http_error(call: str, status: int, body: bytes, retry_after: str | None) -> FrontdeskError:
    """Classify a non-2xx answer of the FHIR API (the token endpoint: :func:`token_error`)."""
    outcome = outcome_text(body)
    suffix = f": {outcome}" if outcome else ""
    if status == 429:
        return RateLimited(
            f"the FHIR server rate-limited {call} (HTTP 429)",
            retry_after_s=retry_after_s(retry_after),
        )
    if status >= 500:
        return RemoteServerError(
            f"the FHIR server answered HTTP {status} to {call}{suffix}",
            status_code=status,
            action=call,
        )
    if status in (401, 403):
        return CredentialsRejected(
            f"the FHIR server refused {call} (HTTP {status}){suffix}", reason="forbidden"
        )
    if status == 404:
        return EndpointNotFound(
            f"the FHIR base URL answered HTTP 404 to {call}: check {BASE_URL}", field=BASE_URL
        )
    if outcome:
        return RemoteRejected(f"the FHIR server refused {call} (HTTP {status}){suffix}")
    return ProtocolViolation(f"the FHIR server answered HTTP {status} to {call}")


def token_error(status: int, body: bytes, retry_after: str | None) -> FrontdeskError:
    """Classify a refused token request (RFC 6749 §5.2 ``error``; the description scrubbed)."""
    if status == 429 or status >= 500:
        return http_error("the token request", status, body, retry_after)
    if status == 404:
        return EndpointNotFound(
            "the token URL answered HTTP 404: check fhir.token.url", field="fhir.token.url"
        )
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = {}
    code = str(data.get("error") or "") if isinstance(data, dict) else ""
    words = data.get("error_description") if isinstance(data, dict) else None
    detail = f" ({code}: {remote_text(str(words))})" if words else f" ({code})" if code else ""
    if code in _CLIENT_ERRORS or (status == 401 and code != "invalid_scope"):
        return CredentialsRejected(
            f"the token endpoint refused the client assertion{detail}",
            reason="wrong_service_credentials",
            field="fhir.client.id",
        )
    if code == "invalid_scope" or status == 403:
        return CredentialsRejected(
            f"the token endpoint refused the scopes{detail}", reason="forbidden"
        )
    return RemoteRejected(f"the token endpoint answered HTTP {status}{detail}")


def not_json(call: str) -> ProtocolViolation:
    return ProtocolViolation(f"the FHIR server's answer to {call} is not the JSON FHIR promises")
