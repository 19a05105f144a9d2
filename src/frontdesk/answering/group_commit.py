"""Group commit: concurrent small writes share one transaction.

On SQLite every commit is a WAL append plus a lock hand-over, and the skeleton funnels every
writer through one connection; a commit per request caps throughput at a few hundred writes a
second. :class:`GroupCommitter` turns N concurrent requests into one transaction:

* a caller :meth:`~GroupCommitter.submit`\\ s one item for a :class:`BatchWriter` and awaits its
  own result;
* whoever finds no flush running starts one (there is no background task to own or stop); the
  flush takes everything queued (up to ``max_batch``), writes it in one transaction and goes on
  while more is queued, so requests that arrive during a commit form the next batch;
* **fast path**: each writer turns its items into a :class:`BatchPlan` — SQLAlchemy Core
  statements, each executed once with the list of all rows (``executemany``). On SQLite the plan
  runs on the writer connection's driver directly (``BEGIN IMMEDIATE``, one call per statement,
  ``COMMIT``): every call is a hop to the aiosqlite thread and back, and under load each hop
  waits for a turn of the busy event loop, so the ~18 hops SQLAlchemy's session needs for a
  savepointed two-statement batch become 4. On PostgreSQL the plan runs in a session;
* **fallback**: if the fast path raises, nothing of it was committed; the items are written
  again one by one (``write_one``), each in its own SAVEPOINT of one new transaction, so a
  failing item fails alone and the others commit;
* results are delivered only after the commit succeeded; if a commit fails, every item of the
  batch gets that error (nothing of it was written).

A caller that is cancelled while waiting does not withdraw its item: it may still be committed,
exactly like a request whose response was lost after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from frontdesk.db.engine import Database
from frontdesk.logs import get_logger

log = get_logger(__name__)
WRITER_AUTOCHECKPOINT_PAGES = 10_000

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")
ItemT_contra = TypeVar("ItemT_contra", contravariant=True)


@dataclass
class BatchPlan(Generic[ResultT]):
    """What a batch writes: ``(statement, rows)`` steps run in order, and each item's result."""

    steps: list[tuple[Executable, list[dict[str, Any]]]]
    results: list[ResultT]


class BatchWriter(Protocol[ItemT_contra, ResultT]):
    """Writes items of one kind; owns no transaction and never commits."""

    def plan(self, items: Sequence[ItemT_contra]) -> BatchPlan[ResultT]:
        """The statements writing all ``items`` (all or nothing), and their results in order."""
        ...

    async def write_one(self, session: AsyncSession, item: ItemT_contra) -> ResultT:
        """Write one item in ``session`` (the fallback when the batch failed)."""
        ...


@dataclass(slots=True)
class _Pending(Generic[ItemT, ResultT]):
    writer: BatchWriter[ItemT, ResultT]
    item: ItemT
    future: asyncio.Future[ResultT]


@dataclass
class FlushStats:
    """Counters for tests and diagnostics."""

    transactions: int = 0
    items: int = 0
    fallbacks: int = 0
    largest_batch: int = 0
    batch_sizes: list[int] = field(default_factory=list, repr=False)

    def record(self, size: int) -> None:
        self.transactions += 1
        self.items += size
        self.largest_batch = max(self.largest_batch, size)
        if len(self.batch_sizes) < 10_000:
            self.batch_sizes.append(size)


class GroupCommitter:
    """Batches concurrent writes into shared transactions (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 256,
        direct_sqlite: bool = True,
        checkpoint_every: int = 16,
    ) -> None:
        self.db = db
        self.max_batch = max_batch
        self.direct_sqlite = direct_sqlite and db.is_sqlite
        self.checkpoint_every = checkpoint_every
        self._since_checkpoint = 0
        self._checkpointer: asyncio.Task[None] | None = None
        self._tuned: set[int] = set()
        self.stats = FlushStats()
        self._queue: list[_Pending[Any, Any]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._compiled: dict[tuple[int, tuple[str, ...]], tuple[Any, str, list[Any]]] = {}

    async def submit(self, writer: BatchWriter[ItemT, ResultT], item: ItemT) -> ResultT:
        """Queue ``item`` for ``writer`` and wait until it is committed (or failed)."""
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(writer, item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all(), name="group-commit")
        return await future

    async def drain(self) -> None:
        """Wait until everything queued so far has been flushed (and any checkpoint ended)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        if self._checkpointer is not None:
            await asyncio.shield(self._checkpointer)

    async def _flush_all(self) -> None:
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            try:
                await self._flush(batch)
            except BaseException:
                for pending in batch:
                    pending.future.cancel()
                raise

    async def _flush(self, batch: list[_Pending[Any, Any]]) -> None:
        groups = _by_writer(batch)
        try:
            plans = [(group, writer.plan([p.item for p in group])) for writer, group in groups]
            steps = [step for _, plan in plans for step in plan.steps]
            if self.direct_sqlite:
                await self._run_direct(steps)
            else:
                async with self.db.transaction() as session:
                    for statement, rows in steps:
                        await session.execute(statement, rows)
        except Exception as exc:
            log.info("group_commit.fallback", items=len(batch), error_type=type(exc).__name__)
            self.stats.fallbacks += 1
            await self._flush_one_by_one(batch)
            return
        self.stats.record(len(batch))
        if self.direct_sqlite:
            self._maybe_checkpoint()
        for group, plan in plans:
            for pending, result in zip(group, plan.results, strict=True):
                _resolve(pending, True, result)

    async def _flush_one_by_one(self, batch: list[_Pending[Any, Any]]) -> None:
        outcomes: list[tuple[_Pending[Any, Any], bool, Any]] = []
        try:
            async with self.db.transaction() as session:
                for pending in batch:
                    try:
                        async with session.begin_nested():
                            result = await pending.writer.write_one(session, pending.item)
                        outcomes.append((pending, True, result))
                    except Exception as exc:  # this item alone fails
                        outcomes.append((pending, False, exc))
        except Exception as exc:  # the commit failed: nothing of this batch was written
            log.error("group_commit.failed", items=len(batch), error_type=type(exc).__name__)
            for pending in batch:
                _resolve(pending, False, exc)
            return
        self.stats.record(len(batch))
        for pending, ok, value in outcomes:
            _resolve(pending, ok, value)

    async def _run_direct(self, steps: list[tuple[Executable, list[dict[str, Any]]]]) -> None:
        """Run the steps in one transaction on the SQLite writer's driver connection."""
        dialect = self.db.write_engine.dialect
        calls = [self._driver_call(dialect, statement, rows) for statement, rows in steps if rows]
        async with self.db.write_engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            if id(driver) not in self._tuned:
                # Our checkpointer keeps the WAL short; SQLite's own checkpoint in the COMMIT
                # stays as a safety net at 10x the default (40 MB of WAL).
                await driver.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
                self._tuned.add(id(driver))
            await driver.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in calls:
                    await driver.executemany(sql, params)
                await driver.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):  # e.g. BEGIN itself failed: no transaction
                    await asyncio.shield(driver.execute("ROLLBACK"))
                raise

    def _maybe_checkpoint(self) -> None:
        """Keep the WAL short so that no commit of ours pays for SQLite's auto-checkpoint.

        SQLite checkpoints inside the COMMIT that makes the WAL exceed 1000 pages; measured, that
        commit takes 110-190 ms instead of a few (the database file is fsynced), and every
        request of its batch waits for it. So the writer connection's threshold is raised to
        ``WRITER_AUTOCHECKPOINT_PAGES`` (a safety net), and every ``checkpoint_every`` batches
        a PASSIVE checkpoint runs on a reader connection: it copies the WAL back and fsyncs
        while writers go on, and after a complete one the next writer restarts the WAL.
        """
        self._since_checkpoint += 1
        if self._since_checkpoint < self.checkpoint_every:
            return
        if self._checkpointer is not None and not self._checkpointer.done():
            return
        self._since_checkpoint = 0
        self._checkpointer = asyncio.create_task(self._checkpoint(), name="wal-checkpoint")

    async def _checkpoint(self) -> None:
        try:
            async with self.db.read_engine.connect() as connection:
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None
                await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:  # an optimisation only: SQLite's own checkpoint still runs
            log.info("group_commit.checkpoint_failed", error_type=type(exc).__name__)

    def _driver_call(
        self, dialect: Dialect, statement: Executable, rows: list[dict[str, Any]]
    ) -> tuple[str, list[tuple[Any, ...]]]:
        """The statement as the driver's SQL with positional parameters, types applied."""
        keys = tuple(rows[0])
        cache_key = (id(statement), keys)
        cached = self._compiled.get(cache_key)
        if cached is None or cached[0] is not statement:
            assert isinstance(statement, ClauseElement)
            compiled = statement.compile(dialect=dialect, column_keys=list(keys))
            assert isinstance(compiled, SQLCompiler)
            assert compiled.positiontup is not None
            names = list(compiled.positiontup)
            processors = [compiled.binds[name].type.bind_processor(dialect) for name in names]
            cached = (statement, compiled.string, [compiled, names, processors])
            self._compiled[cache_key] = cached
        _, sql, (compiled, names, processors) = cached
        params: list[tuple[Any, ...]] = []
        for row in rows:
            values = compiled.construct_params(row)
            params.append(
                tuple(
                    proc(values[name]) if proc is not None else values[name]
                    for name, proc in zip(names, processors, strict=True)
                )
            )
        return sql, params


def _resolve(pending: _Pending[Any, Any], ok: bool, value: Any) -> None:
    if pending.future.done():
        return
    if ok:
        pending.future.set_result(value)
    else:
        pending.future.set_exception(value)


def _by_writer(
    batch: list[_Pending[Any, Any]],
) -> list[tuple[BatchWriter[Any, Any], list[_Pending[Any, Any]]]]:
    groups: dict[int, tuple[BatchWriter[Any, Any], list[_Pending[Any, Any]]]] = {}
    for pending in batch:
        groups.setdefault(id(pending.writer), (pending.writer, []))[1].append(pending)
    return list(groups.values())
