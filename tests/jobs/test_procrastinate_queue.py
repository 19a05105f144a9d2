"""The procrastinate adapter beyond the shared contract: jobs deferred in the caller's
transaction, the retry mapping, task names, periodic jobs, the schema migration."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import psycopg
import pytest
from alembic import command
from procrastinate.jobs import Job
from sqlalchemy import Connection, text

from frontdesk.db.engine import Database
from frontdesk.db.migrate import alembic_config, upgrade
from frontdesk.errors import ConfigurationError, FatalError, TransientError
from frontdesk.jobs.factory import build_job_queue
from frontdesk.jobs.local import LocalJobQueue
from frontdesk.jobs.periodic import Periodic
from frontdesk.jobs.procrastinate_queue import (
    PolicyRetryStrategy,
    ProcrastinateJobQueue,
    libpq_url,
)
from frontdesk.jobs.queue import AlreadyQueued
from frontdesk.jobs.tasks import Task, TaskRegistry
from frontdesk.retry import RetryPolicy
from frontdesk.settings import JobsSettings, Settings

_no_pg = pytest.mark.skipif(
    not os.environ.get("FRONTDESK_TEST_POSTGRES_URL"), reason="FRONTDESK_TEST_POSTGRES_URL unset"
)


def needs_pg(test: Any) -> Any:
    """Runs whenever FRONTDESK_TEST_POSTGRES_URL is set (like the postgres-backed tests)."""
    return pytest.mark.postgres(_no_pg(test))


Seen = list[dict[str, Any]]


def recording_registry(seen: Seen) -> TaskRegistry:
    async def record(**args: Any) -> None:
        seen.append(args)

    return TaskRegistry([Task("record", record)])


async def job_rows(url: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        cursor = await conn.execute(
            "SELECT task_name, status::text, args FROM procrastinate_jobs ORDER BY id"
        )
        return [(row[0], row[1], row[2]) for row in await cursor.fetchall()]


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    yield database
    await database.dispose()


# The caller's transaction comes as one of ours (session or connection) or a psycopg one.
Transaction = Callable[[Database], AbstractAsyncContextManager[Any]]


@asynccontextmanager
async def session_tx(db: Database) -> AsyncIterator[Any]:
    async with db.transaction() as session:
        yield session


@asynccontextmanager
async def connection_tx(db: Database) -> AsyncIterator[Any]:
    async with db.write_engine.begin() as connection:
        yield connection


@asynccontextmanager
async def psycopg_tx(db: Database) -> AsyncIterator[Any]:
    async with (
        await psycopg.AsyncConnection.connect(libpq_url(db.url)) as conn,
        conn.transaction(),
    ):
        yield conn


TRANSACTIONS = pytest.mark.parametrize(
    "open_tx", [session_tx, connection_tx, psycopg_tx], ids=["session", "connection", "psycopg"]
)


async def execute(tx: Any, sql: str) -> None:
    if isinstance(tx, psycopg.AsyncConnection):
        await tx.execute(sql)  # type: ignore[arg-type]
    else:
        await tx.execute(text(sql))


CREATE_MARKERS = "CREATE TABLE IF NOT EXISTS marker (id int PRIMARY KEY)"


@needs_pg
@TRANSACTIONS
async def test_a_rolled_back_transaction_leaves_no_job(
    db: Database, pg_url: str, open_tx: Transaction
) -> None:
    queue = ProcrastinateJobQueue(recording_registry([]), url=pg_url)

    async def defer_then_fail() -> None:
        async with open_tx(db) as tx:
            await execute(tx, CREATE_MARKERS)
            await queue.defer("record", args={"run_id": 1}, connection=tx)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await defer_then_fail()
    await queue.stop(drain=False)
    assert await job_rows(pg_url) == []


@needs_pg
@TRANSACTIONS
async def test_a_committed_transaction_defers_its_job_at_commit(
    db: Database, pg_url: str, open_tx: Transaction
) -> None:
    seen: Seen = []
    queue = ProcrastinateJobQueue(
        recording_registry(seen), url=pg_url, fetch_polling_interval_s=0.02
    )
    async with open_tx(db) as tx:
        await execute(tx, CREATE_MARKERS)
        await execute(tx, "INSERT INTO marker VALUES (7)")
        await queue.defer("record", args={"run_id": 7}, lock="group:1", connection=tx)
        assert await job_rows(pg_url) == []  # not visible before the commit
    assert await job_rows(pg_url) == [("frontdesk.record", "todo", {"run_id": 7})]
    await queue.start()
    await queue.stop()
    assert seen == [{"run_id": 7}]
    assert await job_rows(pg_url) == [("frontdesk.record", "succeeded", {"run_id": 7})]


@needs_pg
@TRANSACTIONS
async def test_a_refused_queueing_lock_leaves_the_transaction_usable(
    db: Database, pg_url: str, open_tx: Transaction
) -> None:
    queue = ProcrastinateJobQueue(recording_registry([]), url=pg_url)
    async with open_tx(db) as tx:
        await execute(tx, CREATE_MARKERS)
        await queue.defer("record", args={"run_id": 1}, queueing_lock="run:1", connection=tx)
        with pytest.raises(AlreadyQueued):
            await queue.defer("record", args={"run_id": 1}, queueing_lock="run:1", connection=tx)
        await execute(tx, "INSERT INTO marker VALUES (1)")  # still inside a live transaction
    await queue.stop(drain=False)
    assert [status for _, status, _ in await job_rows(pg_url)] == ["todo"]
    async with db.reader() as session:
        assert (await session.execute(text("SELECT count(*) FROM marker"))).scalar() == 1


@needs_pg
async def test_defer_refuses_a_connection_it_cannot_use(pg_url: str) -> None:
    queue = ProcrastinateJobQueue(recording_registry([]), url=pg_url)
    with pytest.raises(TypeError, match="cannot defer on a"):
        await queue.defer("record", args={}, connection=object())
    await queue.stop(drain=False)


@needs_pg
async def test_periodic_tasks_run_on_their_schedule_with_the_tick(pg_url: str) -> None:
    ticks: list[int] = []

    async def tick(*, timestamp: int, scope: str) -> None:
        assert scope == "all"
        ticks.append(timestamp)

    queue = ProcrastinateJobQueue(
        TaskRegistry([Task("sweep", tick)]),
        url=pg_url,
        periodic=[Periodic("sweep", "* * * * * *", args={"scope": "all"})],  # every second
        fetch_polling_interval_s=0.02,
    )
    await queue.start()
    for _ in range(300):
        if ticks:
            break
        await asyncio.sleep(0.01)
    await queue.stop(drain=False)
    assert ticks
    assert isinstance(ticks[0], int)


async def pg_exec(url: str, sql: str) -> Any:
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        cursor = await conn.execute(sql)  # type: ignore[arg-type]
        return await cursor.fetchone() if cursor.description else None


@needs_pg
async def test_jobs_of_a_dead_worker_are_requeued_even_beside_a_waiting_twin(
    pg_url: str,
) -> None:
    seen: Seen = []
    queue = ProcrastinateJobQueue(
        recording_registry(seen), url=pg_url, fetch_polling_interval_s=0.02
    )
    await queue.defer("record", args={"run_id": 1}, queueing_lock="run:1")
    await pg_exec(
        pg_url,
        "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour')",
    )
    # the dead worker had fetched it; a newer job for the same run waits
    await pg_exec(
        pg_url,
        "UPDATE procrastinate_jobs SET status = 'doing',"
        " worker_id = (SELECT max(id) FROM procrastinate_workers)",
    )
    await queue.defer("record", args={"run_id": 1, "again": True}, queueing_lock="run:1")

    assert len(await queue.requeue_stalled()) == 1
    await queue.start()
    await queue.stop()
    assert sorted(len(args) for args in seen) == [1, 2]


@needs_pg
async def test_two_sweepers_requeue_a_stalled_job_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = ProcrastinateJobQueue(recording_registry([]), url=pg_url, stalled_after_s=5)
    await queue.defer("record", args={"run_id": 1})
    await pg_exec(
        pg_url,
        "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour')",
    )
    await pg_exec(
        pg_url,
        "UPDATE procrastinate_jobs SET status = 'doing',"
        " worker_id = (SELECT max(id) FROM procrastinate_workers)",
    )
    await queue.open()
    seen_by_both = await queue.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=5)
    assert len(seen_by_both) == 1
    assert len(await queue.requeue_stalled()) == 1  # the first sweeper
    # the second read the same stalled job before the first requeued it
    manager = queue.app.job_manager

    async def stale_read(**_: Any) -> list[Job]:
        return seen_by_both

    monkeypatch.setattr(manager, "get_stalled_jobs", stale_read)
    assert await queue.requeue_stalled() == []
    await queue.stop(drain=False)
    assert [status for _, status, _ in await job_rows(pg_url)] == ["todo"]


def test_periodic_schedules_keep_their_priority_and_locks() -> None:
    async def body(*, timestamp: int) -> None:
        pass

    queue = ProcrastinateJobQueue(
        TaskRegistry([Task("tick", body)]),
        url="postgresql+psycopg://x@h/db",
        periodic=[Periodic("tick", "* * * * * */5", queueing_lock="tick", priority=10)],
    )
    (periodic,) = queue.app.periodic_registry.periodic_tasks.values()
    assert periodic.cron == "* * * * * */5"
    assert periodic.configure_kwargs["priority"] == 10
    assert periodic.configure_kwargs["queueing_lock"] == "tick"


@needs_pg
async def test_finished_jobs_are_pruned_after_their_age(pg_url: str) -> None:
    queue = ProcrastinateJobQueue(recording_registry([]), url=pg_url, fetch_polling_interval_s=0.02)
    await queue.defer("record", args={"run_id": 1})
    await queue.start()
    await queue.join()
    await queue.defer("record", args={"run_id": 2})
    await queue.join()
    await pg_exec(
        pg_url,
        "UPDATE procrastinate_events SET at = now() - interval '2 days'"
        " WHERE job_id = (SELECT min(id) FROM procrastinate_jobs)",
    )
    await queue.prune_finished(older_than_hours=24)
    await queue.stop()
    assert [args for _, _, args in await job_rows(pg_url)] == [{"run_id": 2}]


def test_periodic_schedules_name_registered_tasks() -> None:
    with pytest.raises(KeyError, match="nope"):
        ProcrastinateJobQueue(
            TaskRegistry(),
            url="postgresql+psycopg://x@127.0.0.1/x",
            periodic=[Periodic("nope", "* * * * *")],
        )


def test_tasks_get_stable_names_and_the_policy_as_retry_strategy() -> None:
    async def body() -> None:
        pass

    policy = RetryPolicy(max_attempts=4, base_s=2, max_s=60)
    queue = ProcrastinateJobQueue(
        TaskRegistry([Task("sync_group", body, policy)]), url="postgresql+psycopg://x@h/db"
    )
    task = queue.app.tasks["frontdesk.sync_group"]
    strategy = task.retry_strategy
    assert isinstance(strategy, PolicyRetryStrategy)
    assert strategy.policy == policy
    assert tuple(strategy.retry_exceptions or ()) == (TransientError,)
    assert strategy.max_attempts == 3  # procrastinate counts retries, the policy runs


def _job(attempts: int) -> Job:
    return Job(
        id=1, queue="default", lock=None, queueing_lock=None, task_name="t", attempts=attempts
    )


@pytest.mark.parametrize(
    ("error", "attempts", "retried"),
    [
        (TransientError("timeout"), 0, True),
        (TransientError("timeout"), 2, True),
        (TransientError("timeout"), 3, False),  # the 4th run was the last one
        (FatalError("bug"), 0, False),
        (ValueError("bug"), 0, False),
        (asyncio.CancelledError(), 0, False),
    ],
    ids=["transient-1st", "transient-3rd", "transient-last", "fatal", "other", "cancelled"],
)
def test_only_transient_errors_are_retried_within_the_policy(
    error: BaseException, attempts: int, retried: bool
) -> None:
    strategy = PolicyRetryStrategy(RetryPolicy(max_attempts=4, base_s=1, max_s=8), random.Random(3))
    decision = strategy.get_retry_decision(exception=error, job=_job(attempts))
    assert (decision is not None) is retried


def test_retry_backoff_follows_the_policy() -> None:
    from datetime import UTC, datetime

    strategy = PolicyRetryStrategy(RetryPolicy(base_s=10, max_s=40), random.Random(5))
    before = datetime.now(UTC)
    decision = strategy.get_retry_decision(exception=TransientError("x"), job=_job(2))
    assert decision is not None
    assert decision.retry_at is not None
    waited = (decision.retry_at - before).total_seconds()
    assert 20 <= waited <= 40 + 1  # third run: ceiling 40 s, full jitter down to half


@pytest.mark.parametrize(
    ("backend", "url", "expected"),
    [
        ("local", "sqlite+aiosqlite:///x.db", LocalJobQueue),
        ("local", "postgresql+psycopg://u@h/db", LocalJobQueue),
        ("procrastinate", "postgresql+psycopg://u@h/db", ProcrastinateJobQueue),
    ],
)
def test_the_factory_picks_the_backend_from_settings(
    backend: Any, url: str, expected: type[object]
) -> None:
    settings = Settings(jobs=JobsSettings(backend=backend, concurrency=3))
    assert isinstance(build_job_queue(settings, TaskRegistry(), db_url=url), expected)


def test_procrastinate_on_sqlite_is_a_configuration_error() -> None:
    settings = Settings(jobs=JobsSettings(backend="procrastinate"))
    with pytest.raises(ConfigurationError, match="needs PostgreSQL"):
        build_job_queue(settings, TaskRegistry(), db_url="sqlite+aiosqlite:///x.db")


@needs_pg
async def test_migration_0007_applies_and_drops_procrastinate_schema(pg_url: str) -> None:
    db = Database(pg_url)

    async def procrastinate_objects() -> int:
        async with db.read_engine.connect() as conn:
            query = (
                "SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE 'procrastinate%')"
                " + (SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%')"
                " + (SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%')"
            )
            return int((await conn.execute(text(query))).scalar_one())

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0007@-1")  # this branch only

    try:
        assert await procrastinate_objects() > 0  # the template was migrated with it
        async with db.write_engine.begin() as connection:
            await connection.run_sync(downgrade)
        assert await procrastinate_objects() == 0
        await upgrade(db)
        assert await procrastinate_objects() > 0
    finally:
        await db.dispose()


async def test_migration_0007_does_nothing_on_sqlite(tmp_path: Any) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        await upgrade(db, "0007")
        async with db.read_engine.connect() as conn:
            names = await conn.execute(text("SELECT name FROM sqlite_master"))
            assert not [n for (n,) in names if n.startswith("procrastinate")]
    finally:
        await db.dispose()
