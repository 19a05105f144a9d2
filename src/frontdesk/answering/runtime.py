"""Per-process state of the answering API, kept in ``AppContext.extras`` (no module globals).

* the :class:`GroupCommitter` all hot-path writes go through;
* the limiter that bounds concurrent argon2 verifications, so that a burst of ``tokenCreate``
  calls (each ≈ 0.1 s and more than one core with default argon2 parameters) cannot starve
  ticket submission and the other endpoints;
* a dummy argon2 hash, verified for unknown usernames so that they cost the same as known ones;
* the short-lived caches of the hot path (:mod:`frontdesk.answering.cache`).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from frontdesk.answering.cache import TtlCache
from frontdesk.answering.group_commit import GroupCommitter
from frontdesk.context import AppContext
from frontdesk.security.passwords import hash_password, verify_password

_KEY = "answering.runtime"


def default_hash_concurrency() -> int:
    """One argon2 verification per two cores (each uses ≈ 1.7 cores), at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass
class AnsweringRuntime:
    committer: GroupCommitter
    hash_limiter: anyio.CapacityLimiter
    loop: asyncio.AbstractEventLoop
    tokens: TtlCache[str, Any] = field(default_factory=TtlCache)
    """token hash → the token's record (``tokens.TokenRecord``)."""
    practices: TtlCache[tuple[int, str], tuple[int, bool]] = field(default_factory=TtlCache)
    """(user id, prac) → (practice id, may the user file tickets there)."""
    doctors: TtlCache[str, tuple[tuple[int, int, bool], ...]] = field(default_factory=TtlCache)
    """dc → ((doctor id, practice id, secure messaging), ...)."""
    _dummy_hash: str | None = field(default=None, repr=False)

    def invalidate(self) -> None:
        """Forget every cached account fact (after a staff change in this process)."""
        self.tokens.clear()
        self.practices.clear()
        self.doctors.clear()

    async def verify_password(self, password_hash: str | None, password: bytes) -> bool:
        """argon2-verify in a worker thread, at most ``hash_limiter`` at a time.

        ``password_hash`` None (unknown user) verifies against a dummy hash and returns False.
        """
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await anyio.to_thread.run_sync(
                    hash_password, "frontdesk-dummy", limiter=self.hash_limiter
                )
            await anyio.to_thread.run_sync(
                verify_password, self._dummy_hash, password, limiter=self.hash_limiter
            )
            return False
        return await anyio.to_thread.run_sync(
            verify_password, password_hash, password, limiter=self.hash_limiter
        )


def invalidate_caches(ctx: AppContext) -> None:
    """Drop the hot-path caches of ``ctx`` (staff changed accounts in this process)."""
    runtime = ctx.extras.get(_KEY)
    if isinstance(runtime, AnsweringRuntime):
        runtime.invalidate()


def get_runtime(ctx: AppContext) -> AnsweringRuntime:
    """The runtime of ``ctx`` for the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    runtime = ctx.extras.get(_KEY)
    if not isinstance(runtime, AnsweringRuntime) or runtime.loop is not loop:
        runtime = AnsweringRuntime(
            committer=GroupCommitter(ctx.db),
            hash_limiter=anyio.CapacityLimiter(default_hash_concurrency()),
            loop=loop,
        )
        ctx.extras[_KEY] = runtime
    return runtime
