"""Every job-queue adapter runs the same contract tests: ``local`` and ``procrastinate``.

The procrastinate adapter runs whenever ``FRONTDESK_TEST_POSTGRES_URL`` is set (then it must
run): each test gets a database of its own, copied from the session's migrated template
(``pg_template`` in ``tests/conftest.py``), so procrastinate's schema is the one our Alembic
migrations apply.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from typing import Any, Protocol

import psycopg
import pytest
from sqlalchemy.engine import make_url

from frontdesk.jobs.local import LocalJobQueue
from frontdesk.jobs.procrastinate_queue import ProcrastinateJobQueue
from frontdesk.jobs.tasks import TaskRegistry

PG_ENV = "FRONTDESK_TEST_POSTGRES_URL"
_counter = itertools.count()


class HarnessQueue(Protocol):
    """The JobQueue protocol plus ``join``, which every adapter offers to tests."""

    async def defer(
        self,
        task: str,
        *,
        args: dict[str, Any],
        lock: str | None = None,
        queueing_lock: str | None = None,
        connection: Any = None,
    ) -> None: ...

    async def waiting_keys(self, queueing_locks: Collection[str]) -> set[str]: ...

    async def start(self) -> None: ...

    async def stop(self, *, drain: bool = True) -> None: ...

    async def join(self) -> None: ...


MakeQueue = Callable[[TaskRegistry, int], HarnessQueue]


def _adapters() -> list[Any]:
    params: list[Any] = [pytest.param("local", id="local")]
    if os.environ.get(PG_ENV):
        params.append(pytest.param("procrastinate", id="procrastinate", marks=pytest.mark.postgres))
    return params


def _pg_admin_url() -> str:
    return os.environ[PG_ENV].replace("postgresql+psycopg://", "postgresql://")


def _pg_exec(sql: str) -> None:
    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A freshly migrated PostgreSQL database of its own for this test (SQLAlchemy URL)."""
    name = f"fd_jobs_{os.getpid()}_{next(_counter)}"
    _pg_exec(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    url = make_url(_pg_admin_url()).set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=_adapters())
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fast_procrastinate(
    registry: TaskRegistry, url: str, concurrency: int = 4
) -> ProcrastinateJobQueue:
    """The procrastinate adapter with test-speed polling (retries are due in milliseconds)."""
    return ProcrastinateJobQueue(
        registry,
        url=url,
        concurrency=concurrency,
        fetch_polling_interval_s=0.02,
        rng=random.Random(1),
    )


@pytest.fixture
def queue_db_url(request: pytest.FixtureRequest, adapter: str) -> str | None:
    """The database the adapter keeps its jobs in (none for the embedded runner)."""
    if adapter == "procrastinate":
        return str(request.getfixturevalue("pg_url"))
    return None


@pytest.fixture
async def make_queue(queue_db_url: str | None) -> AsyncIterator[MakeQueue]:
    made: list[HarnessQueue] = []
    url = queue_db_url

    def factory(registry: TaskRegistry, concurrency: int = 4) -> HarnessQueue:
        queue: HarnessQueue
        if url is None:
            queue = LocalJobQueue(registry, concurrency=concurrency, rng=random.Random(1))
        else:
            queue = fast_procrastinate(registry, url, concurrency)
        made.append(queue)
        return queue

    yield factory
    for queue in made:  # a test that failed half-way leaves no worker or pool behind
        await queue.stop(drain=False)
