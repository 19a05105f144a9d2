"""PM user accounts of every credential, with the state tests change at runtime.

PM passwords expire (about every 90 days in practice); an expired password still has to be
typed correctly, and then GetUserAuthentication answers ``ValidUser: NO`` with an
``ErrorMessage`` saying the password expired. A wrong password answers ``NO`` too. With
``lockout_after_failures`` set, that many failures in a row lock the account.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.sandbox.unity.config import ClientCredential

INVALID_LOGIN = "Invalid user name or password."
EXPIRED_LOGIN = "The password for this user has expired. Please change it in Allscripts PM."
ACCOUNT_LOCKED = "This user account is locked because of too many failed logins."


@dataclass(slots=True)
class PmAccount:
    """Runtime state of one PM user of one credential."""

    username: str
    password: str
    password_expired: bool
    failures: int = 0
    locked: bool = False


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """Result of a GetUserAuthentication attempt."""

    valid: bool
    message: str
    username: str | None = None
    """The account's own spelling of the user name, when valid."""


class AccountBook:
    """PM accounts keyed by (service user, lower-case PM user name)."""

    def __init__(self, credentials: tuple[ClientCredential, ...]) -> None:
        self._accounts: dict[tuple[str, str], PmAccount] = {}
        self._lockout: dict[str, int | None] = {}
        for credential in credentials:
            self._lockout[credential.service_user] = credential.lockout_after_failures
            for user in credential.users:
                self._accounts[(credential.service_user, user.username.lower())] = PmAccount(
                    user.username, user.password, user.password_expired
                )

    def account(self, service_user: str, username: str) -> PmAccount | None:
        """The account, matched case-insensitively on the user name."""
        return self._accounts.get((service_user, username.strip().lower()))

    def authenticate(self, service_user: str, username: str, password: str) -> LoginOutcome:
        """Check a PM login as GetUserAuthentication does."""
        account = self.account(service_user, username)
        if account is None:
            return LoginOutcome(valid=False, message=INVALID_LOGIN)
        if account.locked:
            return LoginOutcome(valid=False, message=ACCOUNT_LOCKED)
        if password != account.password:
            account.failures += 1
            limit = self._lockout.get(service_user)
            if limit is not None and account.failures >= limit:
                account.locked = True
            return LoginOutcome(valid=False, message=INVALID_LOGIN)
        account.failures = 0
        if account.password_expired:
            return LoginOutcome(valid=False, message=EXPIRED_LOGIN)
        return LoginOutcome(valid=True, message="", username=account.username)

    def expire_password(self, username: str, *, service_user: str | None = None) -> int:
        """Mark the user's PM password expired (in one credential, or all); returns count."""
        matched = self._matching(username, service_user)
        for account in matched:
            account.password_expired = True
        return len(matched)

    def renew_password(
        self, username: str, *, password: str | None = None, service_user: str | None = None
    ) -> int:
        """Clear expiry and lockout, optionally setting a new password; returns count."""
        matched = self._matching(username, service_user)
        for account in matched:
            account.password_expired = False
            account.locked = False
            account.failures = 0
            if password is not None:
                account.password = password
        return len(matched)

    def _matching(self, username: str, service_user: str | None) -> list[PmAccount]:
        name = username.strip().lower()
        return [
            account
            for (owner, key), account in self._accounts.items()
            if key == name and (service_user is None or owner == service_user)
        ]
