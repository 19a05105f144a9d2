"""Keyset paging of list queries, newest first, for the API and the CLI alike.

Every list of frontdesk (check-ins, review requests, audit events, lockouts) is ordered by its
integer primary key, descending. A page ends at its last id; the next page starts below it.
The cursor handed to callers is that id as an opaque string (``nextCursor`` in the API), so
clients never build one and the encoding may change without breaking them.

``pages`` walks a whole result set in batches of ``page_size`` rows (the CLI's ``--json`` prints
every match without holding them all at once); ``count`` says how many match, for a table's
"showing N of M".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from frontdesk.errors import InvalidInput

T = TypeVar("T")
BATCH = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next one (``None`` on the last page)."""

    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    """The cursor of the page that follows the row ``last_id``."""
    return str(last_id)


def decode_cursor(cursor: str | None, *, field: str = "cursor") -> int | None:
    """The id a cursor points below; 422 ``cursor`` when it is not one of ours."""
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput("not a cursor returned by this list", field=field)
    return int(cursor)


async def page(
    session: AsyncSession,
    query: Select[T],
    key: InstrumentedAttribute[int],
    *,
    limit: int,
    below: int | None,
) -> Page[T]:
    """Up to ``limit`` rows of ``query`` with ``key`` below ``below``, newest first."""
    limit = max(1, limit)
    if below is not None:
        query = query.where(key < below)
    rows = (await session.execute(query.order_by(key.desc()).limit(limit + 1))).scalars().all()
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_cursor(_id(items[-1], key)) if more else None)


async def pages(
    session: AsyncSession,
    query: Select[T],
    key: InstrumentedAttribute[int],
    *,
    limit: int | None = None,
    page_size: int = BATCH,
) -> AsyncIterator[Sequence[T]]:
    """Every row of ``query`` (or the first ``limit``), newest first, in batches."""
    below: int | None = None
    left = limit
    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        found = await page(session, query, key, limit=size, below=below)
        if found.items:
            yield found.items
        if left is not None:
            left -= len(found.items)
        if found.next_cursor is None:
            return
        below = _id(found.items[-1], key)


async def count(session: AsyncSession, query: Select[Any]) -> int:
    """How many rows ``query`` matches."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return int(total or 0)


def _id(row: Any, key: InstrumentedAttribute[int]) -> int:
    value: int = getattr(row, key.key)
    return value
