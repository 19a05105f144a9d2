"""The errors connectors raise, each failure classified once at the adapter boundary.

All are subclasses of the :mod:`frontdesk.errors` tree, so the job runner retries exactly
the transient ones and the sync engine marks an integration ``unauthorized`` exactly on
:class:`CredentialsRejected`::

    FrontdeskError
    ├── ConfigurationError              a human must act
    │   ├── Unauthorized
    │   │   └── CredentialsRejected     .reason: wrong_service_credentials | wrong_pm_password
    │   │                               | pm_password_expired | pm_account_locked | forbidden
    │   ├── MissingLicense              .action: the Magic action the licence lacks
    │   ├── ActivationPending           the vendor has not activated our app for the client
    │   └── EndpointNotFound            the configured URL does not serve the API (HTTP 404)
    ├── TransientError                  retried with backoff (then the run fails, cursor kept)
    │   ├── Unreachable                 connect errors
    │   ├── RemoteTimeout               no answer within the timeout
    │   ├── RateLimited                 HTTP 429 (.retry_after_s)
    │   ├── RemoteServerError           HTTP 5xx (.status_code, .server_log)
    │   └── SessionLost                 the remote session died again right after a re-login
    └── FatalError                      never retried
        ├── ProtocolViolation           a reply that is not what the protocol says
        └── RemoteRejected              the remote refused a request as malformed (a bug)

Messages quote ids, action names, HTTP statuses and classification codes, never the remote's
own text (a reply is never copied into a message a tenant reads), secrets, request or
response bodies, names, phones or birth dates. :func:`remote_text` (scrubbed, shortened)
is for operator-only output such as ``frontdesk integration diagnose``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from frontdesk.errors import ConfigurationError, FatalError, TransientError, Unauthorized
from frontdesk.security.redaction import scrub_text

UnauthorizedReason = Literal[
    "wrong_service_credentials",
    "wrong_pm_password",
    "pm_password_expired",
    "pm_account_locked",
    "forbidden",
]
MAX_REMOTE_TEXT = 200
_LOG_ID = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


def remote_text(text: str) -> str:
    """A remote error text fit for a message: one line, scrubbed, at most 200 characters."""
    line = " ".join(text.split())
    line = scrub_text(line)
    return line if len(line) <= MAX_REMOTE_TEXT else line[: MAX_REMOTE_TEXT - 1] + "…"


class CredentialsRejected(Unauthorized):
    """The remote refused our credentials; the integration stops until re-authorised."""

    def __init__(self, message: str, *, reason: UnauthorizedReason, field: str | None = None):
        super().__init__(message, field=field)
        self.reason: UnauthorizedReason = reason


class MissingLicense(ConfigurationError):
    """The remote licence does not include an action the connector needs."""

    code = "missing_license"

    def __init__(self, action: str) -> None:
        super().__init__(f"the Unity licence does not allow the action {action}")
        self.action = action


class ActivationPending(ConfigurationError):
    """The vendor has not (yet) activated our application for this client: support raises
    or follows up the client activation request (``docs/activations.md``). Not a
    credentials problem: the group is not marked unauthorized and no incident is opened."""

    code = "activation_pending"


class EndpointNotFound(ConfigurationError):
    """The configured URL answers 404: wrong host or path."""

    code = "endpoint_not_found"


class Unreachable(TransientError):
    """The remote could not be reached (connection refused, DNS, TLS, reset)."""

    code = "unreachable"


class RemoteTimeout(TransientError):
    """The remote did not answer in time."""

    code = "remote_timeout"


class RateLimited(TransientError):
    """The remote asked us to slow down (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class ServerLogEntry:
    """A remote server-log entry attached to an error (Unity ``LastLogs``), text scrubbed."""

    log_id: str
    logged_at: str
    action: str
    message: str


class RemoteServerError(TransientError):
    """The remote answered HTTP 5xx; ``server_log`` is its matching log entry when found."""

    code = "remote_server_error"

    def __init__(self, message: str, *, status_code: int, action: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.action = action
        self.server_log: ServerLogEntry | None = None

    def attach(self, entry: ServerLogEntry) -> None:
        """Attach the remote's log entry for this failure; the message names its id only
        (an id-shaped one: the entry's text stays out of messages tenants read)."""
        self.server_log = entry
        if _LOG_ID.fullmatch(entry.log_id):
            self.message = f"{self.message}; server log {entry.log_id}"
            self.args = (self.message,)


class SessionLost(TransientError):
    """The remote session expired again right after a fresh login."""

    code = "session_lost"


class ProtocolViolation(FatalError):
    """The remote answered something the protocol does not allow (never retried)."""

    code = "protocol_violation"


class RemoteRejected(FatalError):
    """The remote refused a request as malformed: a bug on our side (never retried)."""

    code = "remote_rejected"
