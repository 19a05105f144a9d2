"""The answering feature's parts in one process, built by the composition root.

* the options (``settings.answering``: how the vendor's ambiguities are resolved);
* the :class:`GroupCommitter` all hot-path writes go through;
* the limiter that bounds concurrent argon2 verifications, so that a burst of ``tokenCreate``
  calls (each ≈ 0.1 s and more than one core with default argon2 parameters) cannot starve
  ticket submission and the other endpoints;
* a dummy argon2 hash, verified for unknown usernames so that they cost the same as known ones;
* the short-lived caches of the hot path (:mod:`frontdesk.answering.cache`);
* ``webhooks_queued``: what to call after a commit that queued ticket webhooks (the webhook
  pump's wake-up in a process that runs one; nothing elsewhere).

The committer and the limiter belong to an event loop: they are made on first use in the
running loop (and made again if the process's loop changed, as between tests).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from frontdesk.answering.cache import TtlCache
from frontdesk.answering.group_commit import GroupCommitter
from frontdesk.db.engine import Database
from frontdesk.security.passwords import hash_password, verify_password
from frontdesk.settings import AnsweringSettings
from frontdesk.usage.meter import Meter


def default_hash_concurrency() -> int:
    """One argon2 verification per two cores (each uses ≈ 1.7 cores), at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


def _nothing() -> None:
    return None


@dataclass
class _LoopBound:
    loop: asyncio.AbstractEventLoop
    committer: GroupCommitter
    hash_limiter: anyio.CapacityLimiter


@dataclass
class AnsweringRuntime:
    db: Database
    options: AnsweringSettings
    tokens: TtlCache[str, Any] = field(default_factory=TtlCache)
    """token hash → the token's record (``tokens.TokenRecord``)."""
    practices: TtlCache[tuple[int, str], tuple[int, bool]] = field(default_factory=TtlCache)
    """(user id, prac) → (practice id, may the user file tickets there)."""
    doctors: TtlCache[str, tuple[tuple[int, int, bool], ...]] = field(default_factory=TtlCache)
    """dc → ((doctor id, practice id, secure messaging), ...)."""
    webhooks_queued: Callable[[], None] = _nothing
    """Called after a commit that queued ticket webhooks (set by the process's pump)."""
    meter: Meter | None = None
    """Counts authenticated calls per answering user and tickets created (None: nothing)."""
    _bound: _LoopBound | None = field(default=None, repr=False)
    _dummy_hash: str | None = field(default=None, repr=False)

    def _loop_bound(self) -> _LoopBound:
        loop = asyncio.get_running_loop()
        if self._bound is None or self._bound.loop is not loop:
            self._bound = _LoopBound(
                loop=loop,
                committer=GroupCommitter(self.db),
                hash_limiter=anyio.CapacityLimiter(default_hash_concurrency()),
            )
        return self._bound

    @property
    def committer(self) -> GroupCommitter:
        return self._loop_bound().committer

    @property
    def hash_limiter(self) -> anyio.CapacityLimiter:
        return self._loop_bound().hash_limiter

    def invalidate(self) -> None:
        """Forget every cached account fact (after a staff change in this process)."""
        self.tokens.clear()
        self.practices.clear()
        self.doctors.clear()

    async def verify_password(self, password_hash: str | None, password: bytes) -> bool:
        """argon2-verify in a worker thread, at most ``hash_limiter`` at a time.

        ``password_hash`` None (unknown user) verifies against a dummy hash and returns False.
        """
        limiter = self.hash_limiter
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await anyio.to_thread.run_sync(
                    hash_password, "frontdesk-dummy", limiter=limiter
                )
            await anyio.to_thread.run_sync(
                verify_password, self._dummy_hash, password, limiter=limiter
            )
            return False
        return await anyio.to_thread.run_sync(
            verify_password, password_hash, password, limiter=limiter
        )
