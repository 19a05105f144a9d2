"""The one retry policy's decision after a failed remote call (``RetryPolicy.delay_after``)."""

from __future__ import annotations

import random

import pytest

from frontdesk.retry import RetryPolicy

POLICY = RetryPolicy(max_attempts=3, base_s=1.0, max_s=8.0, jitter=0.0, max_retry_after_s=30.0)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "spread", "expected"),
    [
        pytest.param(1, None, 1.0, 1.0, id="first failure: the base"),
        pytest.param(2, None, 1.0, 2.0, id="second failure: doubled"),
        pytest.param(3, None, 1.0, None, id="attempts spent: no retry"),
        pytest.param(1, 5.0, 1.0, 5.0, id="Retry-After longer than the backoff wins"),
        pytest.param(2, 0.5, 1.0, 2.0, id="Retry-After shorter: the backoff stays"),
        pytest.param(1, 31.0, 1.0, None, id="Retry-After past the cap: no retry"),
    ],
)
def test_delay_after(
    attempt: int, retry_after: float | None, spread: float, expected: float | None
) -> None:
    got = POLICY.delay_after(
        attempt, random.Random(1), retry_after_s=retry_after, retry_after_spread=spread
    )
    assert got == expected


def test_a_spread_stretches_retry_after_within_its_bound() -> None:
    delays = {
        POLICY.delay_after(1, random.Random(seed), retry_after_s=10.0, retry_after_spread=1.2)
        for seed in range(50)
    }
    assert all(d is not None and 10.0 <= d <= 12.0 for d in delays)
    assert len(delays) > 1
