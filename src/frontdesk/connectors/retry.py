"""Retries of transient failures: bounded exponential backoff with full jitter, and a budget.

Only :class:`~frontdesk.errors.TransientError` is retried, at most ``max_attempts`` times per
call. A heavily loaded server "gives back nonsense errors; if we keep trying we just increase
the load" (Unity reference §6), so on top of the per-call limit a :class:`RetryBudget`
(token bucket, as gRPC's retry throttling) lets a client retry only while most of its
recent calls succeeded: every retry spends a token, every success earns back a fraction of
one, and below half the bucket the client stops retrying and reports the error.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Per-call retry limits; delays in seconds."""

    max_attempts: int = 4
    base_s: float = 0.5
    max_s: float = 8.0
    max_retry_after_s: float = 30.0
    """A ``Retry-After`` longer than this is not waited for: the error goes to the caller."""
    budget_tokens: float = 20.0
    budget_refill: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed ``attempt`` (1-based): full jitter up to the ceiling."""
        ceiling = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 4, ceiling)


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
