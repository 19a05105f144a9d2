"""The one retry and backoff policy: the connectors, the job tasks, the review sender and the
ticket webhooks all retry with :class:`RetryPolicy`.

Only :class:`~frontdesk.errors.TransientError` is retried (``retry_on``), at most
``max_attempts`` attempts. The delay after failed attempt *n* grows as ``base_s · 2^(n-1)``
up to ``max_s``; ``jitter`` is the share of that ceiling drawn at random (full jitter is 1.0,
none 0.0: a ledger row's next attempt is then a plain, predictable time). A ``Retry-After``
longer than ``max_retry_after_s`` is not waited for.

A heavily loaded server "gives back nonsense errors; if we keep trying we just increase the
load" (Unity reference §6), so a remote client also keeps a :class:`RetryBudget` (token bucket,
as gRPC's retry throttling): every retry spends a token, every success earns back a fraction
of one, and below half the bucket the client stops retrying and reports the error.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from frontdesk.errors import TransientError


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, exponential backoff with jitter, and the retry budget of remote clients."""

    max_attempts: int = 5
    base_s: float = 1.0
    max_s: float = 300.0
    jitter: float = 0.5
    """Share of the ceiling drawn at random: the delay lies in [ceiling·(1-jitter), ceiling]."""
    retry_on: tuple[type[BaseException], ...] = (TransientError,)
    max_retry_after_s: float = 30.0
    """A ``Retry-After`` longer than this is not waited for: the error goes to the caller."""
    budget_tokens: float = 20.0
    budget_refill: float = 0.2

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether failed ``attempt`` (1-based) with ``error`` gets another one."""
        return attempt < self.max_attempts and isinstance(error, self.retry_on)

    def ceiling(self, attempt: int) -> float:
        """The longest wait after failed ``attempt`` (1-based)."""
        return float(min(self.max_s, self.base_s * 2 ** (max(attempt, 1) - 1)))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based)."""
        ceiling = self.ceiling(attempt)
        if self.jitter <= 0:
            return ceiling
        return (rng or random).uniform(ceiling * (1 - self.jitter), ceiling)

    def delay_after(
        self,
        attempt: int,
        rng: random.Random,
        *,
        retry_after_s: float | None = None,
        retry_after_spread: float = 1.0,
    ) -> float | None:
        """The wait before retrying a remote call after failed ``attempt``, or None when it
        is not retried: the attempts are spent, or the server asks (``Retry-After``) for
        longer than ``max_retry_after_s``. A ``Retry-After`` is honoured as at least the
        backoff, stretched by a random factor up to ``retry_after_spread`` (1.0: exactly)."""
        if attempt >= self.max_attempts:
            return None
        delay = self.delay(attempt, rng)
        if retry_after_s is not None:
            if retry_after_s > self.max_retry_after_s:
                return None
            spread = rng.uniform(1.0, retry_after_spread) if retry_after_spread > 1.0 else 1.0
            delay = max(delay, retry_after_s * spread)
        return delay


class RetryBudget:
    """gRPC-style retry throttling for one client."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._max = policy.budget_tokens
        self._refill = policy.budget_refill
        self._tokens = policy.budget_tokens

    @property
    def tokens(self) -> float:
        return self._tokens

    def succeeded(self) -> None:
        self._tokens = min(self._max, self._tokens + self._refill)

    def try_spend(self) -> bool:
        """Take a token for one retry; ``False`` when retries are throttled."""
        if self._tokens - 1 < self._max / 2:
            return False
        self._tokens -= 1
        return True
