"""The Unity JSON wire format, without HTTP: endpoints, request bodies, reply envelopes.

- ``GetToken`` answers a bare GUID as text (maybe JSON-quoted), or ``error: ...`` text,
  both with HTTP 200 (reference §1.3).
- ``MagicJson`` takes ``{Action, AppUserID, Appname, PatientID, Token, Parameter1..6, Data}``
  and answers ``[{"<action lower-case>info": [rows]}]`` or ``[{"Error": "..."}]`` (§1.4, §2).
  Rows are flat objects of strings; ``null`` reads as ``""``, numbers as their text.

Parsing never puts a body into an exception: a bad reply raises
:class:`~frontdesk.connectors.errors.ProtocolViolation` saying what was wrong and how long
the body was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from frontdesk.connectors.errors import ProtocolViolation

GET_TOKEN = "GetToken"  # noqa: S105 - an endpoint name
MAGIC_JSON = "MagicJson"
RETIRE_TOKEN = "RetireToken"  # noqa: S105 - an endpoint name

GET_SERVER_INFO = "GetServerInfo"
GET_USER_AUTHENTICATION = "GetUserAuthentication"
GET_SCHEDULE = "GetSchedule"
GET_PATIENT_DEMOGRAPHICS = "GetPatientDemographics"
LAST_LOGS = "LastLogs"
REQUIRED_ACTIONS = (
    GET_PATIENT_DEMOGRAPHICS,
    GET_SCHEDULE,
    GET_SERVER_INFO,
    GET_USER_AUTHENTICATION,
    LAST_LOGS,
)
"""The five actions the integration guide requires the licence to include."""

Row = Mapping[str, str]

_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


@dataclass(frozen=True, slots=True)
class MagicErrorReply:
    """An ``[{"Error": text}]`` reply."""

    text: str


def magic_body(
    *,
    action: str,
    app_user_id: str,
    appname: str,
    token: str,
    patient_id: str = "",
    parameters: tuple[str, ...] = (),
) -> bytes:
    """The MagicJson request body; unused parameters are ``""``."""
    if len(parameters) > 6:
        raise ValueError("Magic takes at most six parameters")
    padded = parameters + ("",) * (6 - len(parameters))
    body = {
        "Action": action,
        "AppUserID": app_user_id,
        "Appname": appname,
        "PatientID": patient_id,
        "Token": token,
        "Parameter1": padded[0],
        "Parameter2": padded[1],
        "Parameter3": padded[2],
        "Parameter4": padded[3],
        "Parameter5": padded[4],
        "Parameter6": padded[5],
        "Data": "",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def token_body(username: str, password: str) -> bytes:
    """The GetToken request body."""
    return json.dumps({"Username": username, "Password": password}).encode()


def retire_body(token: str, appname: str) -> bytes:
    """The RetireToken request body."""
    return json.dumps({"Token": token, "Appname": appname}).encode()


def parse_token_reply(body: bytes) -> str:
    """The token (a GUID) of a GetToken reply; an ``error...`` text is returned as is.

    Callers check :func:`is_token_error` first. Anything else is a protocol violation.
    """
    try:
        text = body.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise ProtocolViolation(f"GetToken reply is not text ({len(body)} bytes)") from None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    if _GUID.match(text) or is_token_error(text):
        return text
    raise ProtocolViolation(f"GetToken reply is neither a token nor an error ({len(body)} bytes)")


def is_token_error(text: str) -> bool:
    """Whether a GetToken reply text is Unity's ``error: ...`` form."""
    return text[:6].lower() == "error:" or text[:5].lower() == "error"


def parse_magic_reply(action: str, body: bytes) -> list[dict[str, str]] | MagicErrorReply:
    """The rows of a MagicJson reply, or its ``Error`` text. Raises ProtocolViolation."""
    try:
        # orjson: a reply per patient, a few KB each; the standard parser was ~3% of a sync's
        # CPU. Both reject the same inputs here (invalid UTF-8, a BOM, trailing garbage)
        # except NaN/Infinity, which Unity never sends (every value is a string).
        document = orjson.loads(body)
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        raise _bad(action, "is not JSON", body) from None
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list) or not document or not isinstance(document[0], dict):
        raise _bad(action, "is not an array of objects", body)
    head: dict[str, object] = document[0]
    if "Error" in head:
        error = head["Error"]
        return MagicErrorReply(error if isinstance(error, str) else json.dumps(error))
    rows = _info_rows(action, head, body)
    return [_row(action, row, body) for row in rows]


def _info_rows(action: str, head: Mapping[str, object], body: bytes) -> list[object]:
    wanted = f"{action.lower()}info"
    value: object = None
    for key, candidate in head.items():
        if key.lower() == wanted:
            value = candidate
            break
    else:
        # HF: the inner name is "often" <action>info, "but in some cases it has a different
        # name": take the single *info key when there is exactly one.
        infos = [candidate for key, candidate in head.items() if key.lower().endswith("info")]
        if len(infos) != 1:
            raise _bad(action, f"has no {wanted} member", body)
        value = infos[0]
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise _bad(action, "has a row list that is not a list", body)
    return value


def _row(action: str, row: object, body: bytes) -> dict[str, str]:
    if not isinstance(row, dict):
        raise _bad(action, "has a row that is not an object", body)
    if all(type(value) is str for value in row.values()):
        return row  # the usual case: Unity sends every value as a string
    out: dict[str, str] = {}
    for key, value in row.items():
        if isinstance(value, str):
            out[key] = value
        elif value is None:
            out[key] = ""
        elif isinstance(value, bool | int | float):
            out[key] = json.dumps(value)
        else:
            raise _bad(action, "has a row value that is not a scalar", body)
    return out


def _bad(action: str, what: str, body: bytes) -> ProtocolViolation:
    return ProtocolViolation(f"{action} reply {what} ({len(body)} bytes)")
