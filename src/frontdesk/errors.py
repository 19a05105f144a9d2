"""The one error tree of frontdesk.

Every failure is classified once, where it enters (an adapter boundary or a request parser)::

    FrontdeskError
    ├── ConfigurationError     a human must act (bad credentials, unmapped location, licence)
    │   └── Unauthorized       credentials rejected: the integration stops until re-authorised
    ├── TransientError         retry with backoff (timeouts, 429, 5xx, locked database)
    ├── FatalError             a bug or a protocol violation: never retried
    └── RequestError           the caller sent something we refuse (HTTP 4xx)
        ├── InvalidInput        422
        ├── AuthenticationRequired 401
        ├── PermissionDenied    403
        ├── NotFound            404
        └── Conflict            409

Messages quote ids and field names, never secrets, names, phones, emails or birth dates.
"""

from __future__ import annotations


class FrontdeskError(Exception):
    """Base of every error frontdesk raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class ConfigurationError(FrontdeskError):
    """A human must act before this can work."""

    code = "configuration_error"


class Unauthorized(ConfigurationError):
    """Credentials were rejected by a remote system."""

    code = "unauthorized"


class TransientError(FrontdeskError):
    """Worth retrying later with backoff."""

    code = "transient_error"


class FatalError(FrontdeskError):
    """Not worth retrying: a bug or a protocol violation."""

    code = "fatal_error"


class RequestError(FrontdeskError):
    """The caller's request is refused; carries the HTTP status."""

    status_code = 400
    code = "bad_request"


class InvalidInput(RequestError):
    status_code = 422
    code = "invalid_input"


class AuthenticationRequired(RequestError):
    status_code = 401
    code = "authentication_required"


class PermissionDenied(RequestError):
    status_code = 403
    code = "permission_denied"


class NotFound(RequestError):
    status_code = 404
    code = "not_found"


class Conflict(RequestError):
    status_code = 409
    code = "conflict"
