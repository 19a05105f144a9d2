"""Expiry warnings, computed by a pure function of "now".

- **PM password age** — the guide's PM password must change every 90 days. Its age is the
  time since the group's ageing password property (the source's spec names it: ``PM_Password``
  for Allscripts) was last set (``updated_at``); from day
  ``pm_password_warn_from_day`` (80) of ``pm_password_max_age_days`` (90) a warning says how
  many days are left (or that it is probably expired).
- **Unity service credentials** — app-wide, with an expiry date in the settings
  (``FRONTDESK_UNITY__SERVICE_CREDENTIALS_EXPIRE_ON``); a warning from
  ``service_credentials_warn_days`` (14) days before, for every group whose source sends
  them (Unity).

Each warning has a ``basis`` (when the password was set; the expiry date): a new password or
a new expiry date makes a new warning, audited and e-mailed afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from frontdesk.integrations.models import GroupProperty, IntegrationGroup
from frontdesk.settings import CredentialSettings

PM_PASSWORD_AGE = "pm_password_age"  # noqa: S105 (a warning kind)
SERVICE_CREDENTIALS_EXPIRY = "service_credentials_expiry"


@dataclass(frozen=True)
class ExpiryWarning:
    """One warning: its kind, what it is about (``basis``), days left, plain words."""

    kind: str
    basis: str
    days_left: int
    message: str


def password_row(group: IntegrationGroup) -> GroupProperty | None:
    """The group's ageing password property (the source's spec names it; none: no such)."""
    key = group.source.password_key
    return next((p for p in group.properties if p.key == key), None) if key else None


def password_age_days(set_at: datetime | None, now: datetime) -> int | None:
    """Whole days since the PM password was set (None: never set)."""
    return None if set_at is None else (now - set_at).days


def expiry_warnings(
    *,
    now: datetime,
    password_set_at: datetime | None,
    service_expire_on: date | None,
    settings: CredentialSettings,
    uses_service_credentials: bool = True,
) -> list[ExpiryWarning]:
    """The warnings of one group at ``now`` (see the module docstring)."""
    found: list[ExpiryWarning] = []
    age = password_age_days(password_set_at, now)
    if (
        age is not None
        and password_set_at is not None
        and age >= settings.pm_password_warn_from_day
    ):
        left = settings.pm_password_max_age_days - age
        if left > 0:
            words = f"PM password is {age} days old: it must be changed within {left} days"
        else:
            words = (
                f"PM password is {age} days old: older than "
                f"{settings.pm_password_max_age_days} days, it has probably expired"
            )
        found.append(ExpiryWarning(PM_PASSWORD_AGE, password_set_at.isoformat(), left, words))
    if service_expire_on is not None and uses_service_credentials:
        left = (service_expire_on - now.date()).days
        if left <= settings.service_credentials_warn_days:
            when = service_expire_on.isoformat()
            if left >= 0:
                words = f"Unity service credentials expire on {when} (in {left} days)"
            else:
                words = f"Unity service credentials expired on {when}"
            found.append(ExpiryWarning(SERVICE_CREDENTIALS_EXPIRY, when, left, words))
    return found
