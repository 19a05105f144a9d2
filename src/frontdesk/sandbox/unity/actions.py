"""The Magic actions the sandbox implements, each a function of an :class:`ActionContext`.

Actions are looked up by trimmed, case-insensitive name. ``GetUserAuthentication``,
``GetServerInfo`` and ``Echo`` work on a token not yet bound to a PM user; the others need
the binding (see :mod:`frontdesk.sandbox.unity.magic`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from frontdesk.sandbox.unity.accounts import AccountBook
from frontdesk.sandbox.unity.config import ClientCredential
from frontdesk.sandbox.unity.practice import Practice
from frontdesk.sandbox.unity.rows import Row, demographics_row, format_general
from frontdesk.sandbox.unity.schedule import (
    ConversionError,
    ScheduleQuery,
    parse_request_datetime,
    schedule_rows,
)
from frontdesk.sandbox.unity.server_log import ServerLog
from frontdesk.sandbox.unity.tokens import TokenSession
from frontdesk.sandbox.unity.wire import (
    INT_OVERFLOW,
    VARCHAR_TO_INT,
    MagicError,
    MagicReply,
    MagicRequest,
    MagicRows,
)

SYSTEM_NAME = "Allscripts Practice Management"
UNITY_BUILD_DATE = "03/18/2021"
DEFAULT_LOG_COUNT = 10
_SQL_INT = re.compile(r"^\s*[+-]?\d+\s*$", re.ASCII)
_INT_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Everything an action may read or change for one MagicJson call."""

    request: MagicRequest
    credential: ClientCredential
    session: TokenSession
    practice: Practice
    accounts: AccountBook
    server_log: ServerLog
    now: datetime
    """The current instant (aware); convert to ``practice.time_zone`` for local time."""

    @property
    def local_now(self) -> datetime:
        """The practice's local wall clock, without offset."""
        return self.now.astimezone(self.practice.time_zone).replace(tzinfo=None)


def sql_int(text: str) -> int:
    """Convert a string to int as SQL Server does for an ``int`` parameter (``''`` is 0)."""
    if not text.strip():
        return 0
    if not _SQL_INT.match(text):
        raise ConversionError(VARCHAR_TO_INT)
    value = int(text)
    if not -_INT_MAX - 1 <= value <= _INT_MAX:
        raise ConversionError(INT_OVERFLOW.format(value=text))
    return value


def get_server_info(ctx: ActionContext) -> MagicReply:
    """The six server fields; time in the practice's zone, zone as a Windows name."""
    local = ctx.now.astimezone(ctx.practice.time_zone)
    offset = local.strftime("%z")
    row = {
        "ServerTimeZone": ctx.practice.windows_time_zone,
        "ServerTime": local.strftime("%Y-%m-%dT%H:%M:%S"),
        "ServerDateTimeOffset": (
            f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}0{offset[:3]}:{offset[3:]}"
        ),
        "System": SYSTEM_NAME,
        "ProductVersion": ctx.credential.product_version,
        "uaibornondate": UNITY_BUILD_DATE,
    }
    return MagicRows("GetServerInfo", [row])


def get_user_authentication(ctx: ActionContext) -> MagicReply:
    """Check the PM login (``AppUserID``, ``Parameter1``); bind the token when valid."""
    outcome = ctx.accounts.authenticate(
        ctx.credential.service_user, ctx.request.app_user_id, ctx.request.parameter(1)
    )
    if outcome.valid:
        ctx.session.username = outcome.username
    row = {
        "ValidUser": "YES" if outcome.valid else "NO",
        "ErrorMessage": outcome.message,
        "ClientID": ctx.credential.effective_client_id,
    }
    return MagicRows("GetUserAuthentication", [row])


def get_schedule(ctx: ActionContext) -> MagicReply:
    """PM appointments of a date or range, filtered by P2, P4, P5 and P6."""
    query = ScheduleQuery.from_request(
        ctx.request, today=ctx.local_now.date(), zone=ctx.practice.time_zone
    )
    return MagicRows("GetSchedule", schedule_rows(ctx.practice, query))


def get_patient_demographics(ctx: ActionContext) -> MagicReply:
    """One PM patient by ``PatientID``; an unknown id gives an empty row list."""
    patient = ctx.practice.patient(sql_int(ctx.request.patient_id))
    rows = [] if patient is None else [demographics_row(patient)]
    return MagicRows("GetPatientDemographics", rows)


def last_logs(ctx: ActionContext) -> MagicReply:
    """The credential's recent server-log entries (synthetic columns), newest first."""
    request, zone = ctx.request, ctx.practice.time_zone
    count = sql_int(request.parameter(3)) if request.parameter(3).strip() else DEFAULT_LOG_COUNT
    bounds = [
        parse_request_datetime(request.parameter(n), zone).replace(tzinfo=zone)
        if request.parameter(n).strip()
        else None
        for n in (4, 5)
    ]
    entries = ctx.server_log.latest(
        ctx.credential.service_user,
        limit=max(count, 0),
        errors_only=request.parameter(1).strip().upper() == "Y",
        since=bounds[0],
        until=bounds[1],
    )
    rows: list[Row] = [
        {
            "LogID": str(entry.log_id),
            "LogDateTime": format_general(entry.logged_at.astimezone(zone)),
            "Source": "Unity",
            "Action": entry.action,
            "UserID": entry.username,
            "Appname": entry.appname,
            "IsError": "Y" if entry.is_error else "N",
            "Message": entry.message,
            "ElapsedMS": str(entry.elapsed_ms),
        }
        for entry in entries
    ]
    return MagicRows("LastLogs", rows)


def echo(ctx: ActionContext) -> MagicReply:
    """The request members back, as one row of lower-case columns."""
    request = ctx.request
    row = {
        "userid": request.app_user_id,
        "appname": request.appname,
        "patientid": request.patient_id,
        **{f"parameter{n}": request.parameter(n) for n in range(1, 7)},
        "data": request.data,
    }
    return MagicRows("Echo", [row])


Action = Callable[[ActionContext], MagicReply]

ACTIONS: dict[str, Action] = {
    name.lower(): handler
    for name, handler in (
        ("GetServerInfo", get_server_info),
        ("GetUserAuthentication", get_user_authentication),
        ("GetSchedule", get_schedule),
        ("GetPatientDemographics", get_patient_demographics),
        ("LastLogs", last_logs),
        ("Echo", echo),
    )
}
"""Lower-case action name → handler."""

WITHOUT_USER = frozenset({"getuserauthentication", "getserverinfo", "echo"})
"""Actions allowed on a token that GetUserAuthentication has not bound yet."""


def run_action(ctx: ActionContext, handler: Action) -> MagicReply:
    """Run a handler, turning SQL-style conversion failures into ``Error`` replies."""
    try:
        return handler(ctx)
    except ConversionError as error:
        return MagicError(str(error))
