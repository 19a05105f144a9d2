"""Unity's failure texts and HTTP statuses, classified once into the connector error tree.

Where each case comes from (reference §1.3, §1.8, §3.2), and what it becomes:

- GetToken ``error: Username and Password not valid ...`` and any other GetToken error
  text → ``CredentialsRejected(wrong_service_credentials)``
- GetToken or Magic ``error: Appname <app> is not activated for this client`` (the
  sandbox's reply, inferred: the real text is not public, see ``docs/activations.md``) →
  ``ActivationPending`` (code ``activation_pending``: no incident, the group stays active)
- GetToken or Magic ``Error: <app> is not supported on PM version ...`` →
  ``ConfigurationError(code="app_not_supported")``
- GetUserAuthentication ``ValidUser: NO`` → ``CredentialsRejected`` with reason
  ``wrong_pm_password``, ``pm_password_expired`` or ``pm_account_locked`` (from
  ``ErrorMessage``)
- Magic ``... logged out due to inactivity`` or a token not associated with our user →
  :class:`SessionExpired` (internal: the client logs in again once, then ``SessionLost``)
- Magic ``Action is not valid for this license`` → ``MissingLicense(action)``
- any other Magic ``Error`` text (``Error converting data type ...``, ``Object reference
  not set ...``) → ``RemoteRejected`` (fatal: our request is wrong)
- HTTP 429 → ``RateLimited``; HTTP 5xx → ``RemoteServerError`` (both transient)
- HTTP 401/403 → ``CredentialsRejected(forbidden)``; HTTP 404 → ``EndpointNotFound``
- other HTTP statuses and unreadable bodies → ``ProtocolViolation`` (fatal)

Messages name the action, the HTTP status and the class of failure, never the remote's
own text: a reply is never copied into a message a tenant reads (run errors, the "Test
connection" result).
"""

from __future__ import annotations

from frontdesk.connectors.errors import (
    ActivationPending,
    CredentialsRejected,
    EndpointNotFound,
    MissingLicense,
    ProtocolViolation,
    RateLimited,
    RemoteRejected,
    RemoteServerError,
    UnauthorizedReason,
)
from frontdesk.errors import ConfigurationError, FrontdeskError, TransientError

BAD_SERVICE_LOGIN = "not valid for any licenses"
NOT_SUPPORTED = "is not supported on"
NOT_ACTIVATED = "is not activated for this client"  # inferred (docs/activations.md)
LOGGED_OUT = "you have been logged out"
NOT_ASSOCIATED = "security token is not associated"
OTHER_USER = "security token is associated with a different user"
NOT_LICENSED = "action is not valid for this license"
PASSWORD_EXPIRED = "expired"  # noqa: S105 - a message fragment
ACCOUNT_LOCKED = "locked"


class SessionExpired(TransientError):
    """The token is no longer valid (idle expiry, retired, or not bound to our user).

    Internal to the client, which gets a new token and retries the call once; a second
    expiry in a row surfaces as :class:`~frontdesk.connectors.errors.SessionLost`.
    """

    code = "session_expired"


def not_activated() -> ActivationPending:
    """Unity says our application is not activated for the client (yet)."""
    return ActivationPending(
        "Unity answered that our application is not activated for this client yet: "
        "follow up the client activation request (frontdesk activation list)"
    )


def token_error(text: str) -> FrontdeskError:
    """Classify a GetToken ``error...`` text."""
    if NOT_ACTIVATED in text.lower():
        return not_activated()
    if NOT_SUPPORTED in text.lower():
        return ConfigurationError(
            "Unity refused our application: not supported on this PM version",
            code="app_not_supported",
        )
    return CredentialsRejected(
        "Unity refused the service credentials (FRONTDESK_UNITY__SERVICE_USERNAME/"
        "SERVICE_PASSWORD with the group's User_Name)",
        reason="wrong_service_credentials",
        field="User_Name",
    )


def magic_error(action: str, text: str) -> FrontdeskError:
    """Classify the ``Error`` text of a MagicJson reply to ``action``."""
    lowered = text.lower()
    if LOGGED_OUT in lowered or NOT_ASSOCIATED in lowered or OTHER_USER in lowered:
        return SessionExpired(f"Unity session expired during {action}")
    if NOT_ACTIVATED in lowered:
        return not_activated()
    if NOT_LICENSED in lowered:
        return MissingLicense(action)
    if NOT_SUPPORTED in lowered:
        return ConfigurationError(
            f"Unity refused our application on {action}: not supported on this PM version",
            code="app_not_supported",
        )
    return RemoteRejected(f"Unity refused {action} with an error reply")


def login_refused(error_message: str) -> CredentialsRejected:
    """Classify ``ValidUser: NO`` by its ``ErrorMessage``."""
    lowered = error_message.lower()
    reason: UnauthorizedReason
    if PASSWORD_EXPIRED in lowered:
        reason, what = "pm_password_expired", "the PM password has expired"
    elif ACCOUNT_LOCKED in lowered:
        reason, what = "pm_account_locked", "the PM user is locked"
    else:
        reason, what = "wrong_pm_password", "the PM user name or password was refused"
    return CredentialsRejected(
        f"Unity GetUserAuthentication failed, {what} (pms_user_name/PM_Password)",
        reason=reason,
        field="PM_Password",
    )


def http_error(
    action: str, status_code: int, retry_after: str | None, *, content_length: int
) -> FrontdeskError:
    """Classify a non-200 HTTP status (the body is never quoted)."""
    if status_code == 429:
        seconds = _seconds(retry_after)
        return RateLimited(f"Unity rate-limited {action} (HTTP 429)", retry_after_s=seconds)
    if status_code >= 500:
        return RemoteServerError(
            f"Unity answered HTTP {status_code} to {action}",
            status_code=status_code,
            action=action,
        )
    if status_code in (401, 403):
        return CredentialsRejected(
            f"Unity answered HTTP {status_code} to {action}", reason="forbidden"
        )
    if status_code == 404:
        return EndpointNotFound(
            f"the Unity URL answered HTTP 404 to {action}: check allscripts.unity.url "
            "or FRONTDESK_UNITY__URL",
            field="allscripts.unity.url",
        )
    return ProtocolViolation(
        f"Unity answered HTTP {status_code} to {action} ({content_length} bytes)"
    )


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: treat as "unknown"; the backoff applies
    return max(0.0, seconds)
