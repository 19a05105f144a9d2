"""The :class:`Sandbox`: the state of one running Unity simulator, and its in-process API.

``create_unity_app(config)`` builds one and exposes it as ``app.state.sandbox``, so tests
and benchmarks can change knobs, expire passwords or tokens, move the clock, and compute the
data the wire will carry (``sandbox.practice.appointments_on(day)``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from frontdesk.sandbox.unity.accounts import AccountBook
from frontdesk.sandbox.unity.clock import Clock, SystemClock
from frontdesk.sandbox.unity.config import ClientCredential, SandboxConfig
from frontdesk.sandbox.unity.faults import FaultDice, RateLimiter
from frontdesk.sandbox.unity.knobs import Knobs
from frontdesk.sandbox.unity.practice import Practice
from frontdesk.sandbox.unity.server_log import ServerLog
from frontdesk.sandbox.unity.tokens import TokenStore


class Sandbox:
    """State of a Unity sandbox: credentials, accounts, tokens, practices, knobs, log."""

    def __init__(self, config: SandboxConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._credentials = {c.service_user: c for c in config.credentials}
        self._practices: dict[str, Practice] = {}
        self.accounts = AccountBook(config.credentials)
        self.server_log = ServerLog()
        self.rate_limiter = RateLimiter(self.clock)
        self.tokens = TokenStore(self.clock, timedelta(seconds=config.knobs.idle_timeout_seconds))
        self.dice = FaultDice(config.seed)
        self._knobs = Knobs()
        self.set_knobs(config.knobs)
        self._not_activated = {c.service_user for c in config.credentials if not c.activated}

    def now(self) -> datetime:
        """The sandbox clock's current instant (aware UTC)."""
        return self.clock.now()

    @property
    def knobs(self) -> Knobs:
        """The knobs in force."""
        return self._knobs

    def set_knobs(self, knobs: Knobs) -> Knobs:
        """Replace all knobs; the token idle timeout and rate limit take effect at once."""
        if (knobs.rate_limit_per_second, knobs.rate_limit_burst) != (
            self._knobs.rate_limit_per_second,
            self._knobs.rate_limit_burst,
        ):
            self.rate_limiter.reset()
        if knobs.fault_seed is not None and knobs.fault_seed != self._knobs.fault_seed:
            self.dice.reseed(knobs.fault_seed)
        self.tokens.idle_timeout = timedelta(seconds=knobs.idle_timeout_seconds)
        self._knobs = knobs
        return knobs

    def update_knobs(self, **changes: Any) -> Knobs:
        """Change some knobs (validated), e.g. ``update_knobs(error_rate=0.2)``."""
        merged = self._knobs.model_dump() | changes
        return self.set_knobs(Knobs.model_validate(merged))

    def reset_knobs(self) -> Knobs:
        """Back to the knobs the sandbox started with."""
        return self.set_knobs(self.config.knobs)

    def find_credential(self, service_user: str) -> ClientCredential | None:
        """The credential whose GetToken username is exactly ``service_user``."""
        return self._credentials.get(service_user)

    def credential(self, service_user: str | None = None) -> ClientCredential:
        """A credential by service user; the default (first) one without an argument."""
        if service_user is None:
            return self.config.default_credential
        credential = self._credentials.get(service_user)
        if credential is None:
            raise KeyError(f"no credential with that service user ({len(self._credentials)} known)")
        return credential

    def practice_for(self, service_user: str | None = None) -> Practice:
        """The synthetic practice of a credential (the default one without an argument)."""
        credential = self.credential(service_user)
        practice = self._practices.get(credential.service_user)
        if practice is None:
            practice = Practice(seed=self.config.seed, credential=credential)
            self._practices[credential.service_user] = practice
        return practice

    @property
    def practice(self) -> Practice:
        """The default credential's practice."""
        return self.practice_for(None)

    def expire_password(self, username: str, *, service_user: str | None = None) -> int:
        """Expire a PM user's password (in one credential or all); returns accounts changed."""
        return self.accounts.expire_password(username, service_user=service_user)

    def renew_password(
        self, username: str, *, password: str | None = None, service_user: str | None = None
    ) -> int:
        """Un-expire and unlock a PM user, optionally with a new password."""
        return self.accounts.renew_password(username, password=password, service_user=service_user)

    def expire_tokens(self, *, token: str | None = None, service_user: str | None = None) -> int:
        """Force tokens to expire now: one, a credential's, or all; returns how many."""
        return self.tokens.expire(token=token, service_user=service_user)

    def is_activated(self, service_user: str) -> bool:
        """Whether our application is activated for the client of ``service_user``."""
        return service_user not in self._not_activated

    def set_activated(self, activated: bool, *, service_user: str | None = None) -> list[str]:
        """Activate (or deactivate) the application for one client or all; returns the
        service users changed."""
        users = [service_user] if service_user is not None else list(self._credentials)
        for user in users:
            self.credential(user)  # KeyError for an unknown one
        changed = [u for u in users if self.is_activated(u) != activated]
        if activated:
            self._not_activated.difference_update(users)
        else:
            self._not_activated.update(users)
        return changed
