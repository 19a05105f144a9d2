"""The MagicJson wire format: request members, reply envelope, and Unity's error texts.

Request members are matched case-sensitively, as WCF DataContract JSON does; missing or
``null`` members read as ``""``. Replies are ``[{"<action lower-case>info": [rows]}]`` or
``[{"Error": "..."}]``, compact JSON, every value a string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from frontdesk.sandbox.unity.rows import Row

# Error texts. [S] = seen on the wire (reference §1.8); [I] = the sandbox's choice.
BAD_SERVICE_LOGIN = "error: Username and Password not valid for any licenses on this server"  # [S]
APP_NOT_SUPPORTED = "Error: {appname} is not supported on PM version {version}"  # [S] shape
LOGGED_OUT = (  # [S]
    "Magic Error - Action: {action} - As a Security precaution, you have been logged out due "
    "to inactivity."
)
NOT_LICENSED = "Error: Action is not valid for this license."  # [S]/[M]
NOT_ACTIVATED = "error: Appname {appname} is not activated for this client"  # [I] activations.md
VARCHAR_TO_INT = "Error converting data type varchar to int."  # [S]
VARCHAR_TO_DATETIME = "Error converting data type varchar to datetime."  # [I]
INT_OVERFLOW = "The conversion of the varchar value '{value}' overflowed an int column."  # [I]
NULL_REFERENCE = "Object reference not set to an instance of an object."  # [M]
NOT_AUTHENTICATED = (  # [I] synthetic
    "Magic Error - Action: {action} - Security token is not associated with a user. "
    "Call GetUserAuthentication first."
)
WRONG_USER = (  # [I] synthetic
    "Magic Error - Action: {action} - Security token is associated with a different user."
)

_ROWS_PER_CHUNK = 500


class MalformedMagicBody(Exception):
    """The MagicJson body is not a JSON object of scalar members."""


@dataclass(frozen=True, slots=True)
class MagicRequest:
    """A parsed MagicJson body; every member a string."""

    action: str = ""
    app_user_id: str = ""
    appname: str = ""
    patient_id: str = ""
    token: str = ""
    parameters: tuple[str, str, str, str, str, str] = ("", "", "", "", "", "")
    data: str = ""

    def parameter(self, number: int) -> str:
        """``ParameterN`` for N in 1..6."""
        return self.parameters[number - 1]


def parse_magic_request(body: bytes) -> MagicRequest:
    """Read a MagicJson body. Raises :class:`MalformedMagicBody` if it cannot be bound."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMagicBody(str(exc)) from exc
    if not isinstance(document, dict):
        raise MalformedMagicBody("body is not a JSON object")

    def member(name: str) -> str:
        value = document.get(name)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        raise MalformedMagicBody(f"member {name} is not a scalar")

    p1, p2, p3, p4, p5, p6 = (member(f"Parameter{n}") for n in range(1, 7))
    return MagicRequest(
        action=member("Action"),
        app_user_id=member("AppUserID"),
        appname=member("Appname"),
        patient_id=member("PatientID"),
        token=member("Token"),
        parameters=(p1, p2, p3, p4, p5, p6),
        data=member("Data"),
    )


@dataclass(frozen=True, slots=True)
class MagicRows:
    """A successful reply: the action's canonical name and its rows (possibly lazy)."""

    action: str
    rows: Iterable[Row]

    @property
    def info_key(self) -> str:
        """The envelope key: the action name in lower case plus ``info``."""
        return f"{self.action.lower()}info"


@dataclass(frozen=True, slots=True)
class MagicError:
    """An error reply ``[{"Error": message}]``."""

    message: str


MagicReply = MagicRows | MagicError


def encode_error(message: str) -> bytes:
    """The bytes of ``[{"Error": message}]``."""
    return json.dumps([{"Error": message}], separators=(",", ":")).encode()


def encode_reply(reply: MagicReply) -> Iterator[bytes]:
    """The reply as a sequence of byte chunks (rows are encoded a few hundred at a time)."""
    if isinstance(reply, MagicError):
        yield encode_error(reply.message)
        return
    yield b'[{"' + reply.info_key.encode() + b'":['
    rows = iter(reply.rows)
    first = True
    while batch := list(islice(rows, _ROWS_PER_CHUNK)):
        text = json.dumps(batch, separators=(",", ":"), ensure_ascii=False)[1:-1]
        yield (text if first else "," + text).encode()
        first = False
    yield b"]}]"
