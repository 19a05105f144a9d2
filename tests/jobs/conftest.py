"""Every job-queue adapter runs the same contract tests (the procrastinate adapter joins here)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from frontdesk.jobs.local import LocalJobQueue
from frontdesk.jobs.tasks import TaskRegistry


@pytest.fixture(params=["local"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_queue(adapter: str) -> Callable[[TaskRegistry, int], LocalJobQueue]:
    def factory(registry: TaskRegistry, concurrency: int = 4) -> LocalJobQueue:
        return LocalJobQueue(registry, concurrency=concurrency, rng=random.Random(1))

    return factory
