"""Security tokens: issued by GetToken, bound to a PM user by GetUserAuthentication.

A token dies after ``idle_timeout`` without use (a sliding window: every Magic call on a
live token restarts it), when retired, or when forced to expire through the admin endpoint.
Dead tokens are forgotten, so an expired token and one never issued look the same on the
wire, as they do on Unity. Expired entries are swept as new tokens are issued, which bounds
memory in long benchmarks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.sandbox.unity.clock import Clock

_SWEEP_EVERY = 1024


@dataclass(slots=True)
class TokenSession:
    """What the server remembers about a live token."""

    token: str
    service_user: str
    created: datetime
    last_used: datetime
    username: str | None = None
    """The PM user bound by a successful GetUserAuthentication, if any."""


class TokenStore:
    """Live tokens with idle expiry on an injectable clock."""

    def __init__(self, clock: Clock, idle_timeout: timedelta) -> None:
        self._clock = clock
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, TokenSession] = {}
        self._issued_since_sweep = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def issue(self, service_user: str) -> str:
        """Create a token for the credential; returns the upper-case GUID text."""
        self._issued_since_sweep += 1
        if self._issued_since_sweep >= _SWEEP_EVERY:
            self.sweep()
        token = str(uuid.uuid4()).upper()
        now = self._clock.now()
        self._sessions[token] = TokenSession(token, service_user, created=now, last_used=now)
        return token

    def touch(self, token: str) -> TokenSession | None:
        """The live session for ``token``, its idle window restarted; ``None`` if dead."""
        session = self._sessions.get(token.strip().upper())
        if session is None:
            return None
        now = self._clock.now()
        if now - session.last_used > self.idle_timeout:
            del self._sessions[session.token]
            return None
        session.last_used = now
        return session

    def peek(self, token: str) -> TokenSession | None:
        """The session for ``token`` without restarting its idle window (may be stale)."""
        return self._sessions.get(token.strip().upper())

    def retire(self, token: str) -> bool:
        """Forget the token; whether it was live."""
        return self._sessions.pop(token.strip().upper(), None) is not None

    def expire(self, *, token: str | None = None, service_user: str | None = None) -> int:
        """Force tokens to expire: one token, all of a credential, or (no filter) all of them.

        Returns how many live tokens were dropped.
        """
        doomed = [
            session.token
            for session in self._sessions.values()
            if (token is None or session.token == token.strip().upper())
            and (service_user is None or session.service_user == service_user)
        ]
        for key in doomed:
            del self._sessions[key]
        return len(doomed)

    def sweep(self) -> int:
        """Drop idle-expired tokens; returns how many."""
        self._issued_since_sweep = 0
        cutoff = self._clock.now() - self.idle_timeout
        stale = [key for key, s in self._sessions.items() if s.last_used < cutoff]
        for key in stale:
            del self._sessions[key]
        return len(stale)

    def sessions(self) -> list[TokenSession]:
        """Snapshot of the live sessions (for the admin endpoint and tests)."""
        return list(self._sessions.values())
