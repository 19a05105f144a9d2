"""How every list command prints: all of it, or a part that says it is a part.

``--json`` prints one JSON array of every match (``--limit`` is the only cap, and only when
given), written batch by batch as the keyset pages arrive, so a script never loses rows and a
large log is never held in memory at once. A table shows the first ``--limit`` rows (100 when
not given) and, when that is not all of them, says "showing N of M" and how to see the rest.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from rich.table import Table
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from frontdesk.cli.runtime import Column, console
from frontdesk.db import paging

T = TypeVar("T")
TABLE_ROWS = 100
JSON_BATCH = paging.BATCH  # rows fetched per keyset page while --json streams
Shown = Callable[[Sequence[T]], Awaitable[list[dict[str, Any]]]]


class JsonArray:
    """One JSON array written element by element; the same text as ``json.dumps(rows,
    indent=2)`` of all the rows at once."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            body = json.dumps(row, indent=2).replace("\n", "\n  ")
            sys.stdout.write(("[\n  " if self.count == 0 else ",\n  ") + body)
            self.count += 1
        sys.stdout.flush()

    def close(self) -> None:
        sys.stdout.write("[]\n" if self.count == 0 else "\n]\n")
        sys.stdout.flush()


async def print_listing(
    session: AsyncSession,
    query: Select[T],
    key: InstrumentedAttribute[int],
    *,
    shown: Shown[T],
    columns: Sequence[Column],
    limit: int | None,
    as_json: bool,
    noun: str,
) -> None:
    """Print ``query``'s rows newest first: every one (or ``limit``) as JSON, or a table.

    ``shown`` turns a batch of rows into dicts (it may audit a reveal first).
    """
    if as_json:
        out = JsonArray()
        async for batch in paging.pages(session, query, key, limit=limit, page_size=JSON_BATCH):
            out.write(await shown(batch))
        out.close()
        return
    total = await paging.count(session, query)
    wanted = TABLE_ROWS if limit is None else limit
    first = await paging.page(session, query, key, limit=wanted, below=None)
    rows = await shown(first.items) if first.items else []
    print_table(rows, columns)
    console.print(footer(len(rows), total, noun), markup=False, highlight=False, soft_wrap=True)


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> None:
    table = Table(show_header=True, header_style="bold")
    for header, _cell in columns:
        table.add_column(header)
    for row in rows:
        table.add_row(*(cell(row) for _header, cell in columns))
    console.print(table)


def footer(shown: int, total: int, noun: str) -> str:
    """``150 check-ins`` when the table holds all; else how many and how to see the rest."""
    if shown >= total:
        return f"{total} {noun}"
    return (
        f"showing {shown} of {total} {noun} (newest first); "
        f"see them all with --limit {total}, or every field with --json"
    )
