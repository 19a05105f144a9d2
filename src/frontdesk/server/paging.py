"""HTTP: the one page shape of ``/api`` lists — ``{"items": [...], "nextCursor": "..." | null}``.

A client asks for the first page without ``cursor`` and for each next page with the previous
``nextCursor``; ``null`` means there is no more. ``beforeId`` (the older style: the id of the
last row seen) is still accepted for one release and means the same as a cursor below that id.
See docs/api-lists.md.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from frontdesk.db.paging import encode_cursor

ItemT = TypeVar("ItemT")

MAX_LIMIT = 1000

CursorParam = Annotated[
    str | None, Query(description="nextCursor of the previous page; omit for the first page")
]
BeforeIdParam = Annotated[
    int | None,
    Query(
        alias="beforeId",
        ge=0,
        le=2**63 - 1,
        deprecated=True,
        description="deprecated, removed in the next release: use cursor",
    ),
]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")]


class PageOut(BaseModel, Generic[ItemT]):
    """One page of a list and the cursor of the next one."""

    items: list[ItemT]
    nextCursor: str | None = Field(description="pass as ?cursor= for the next page; null: last")


def first_cursor(cursor: str | None, before_id: int | None) -> str | None:
    """The cursor a request starts at: ``cursor``, else the deprecated ``beforeId``."""
    if cursor is not None:
        return cursor
    return encode_cursor(before_id) if before_id is not None else None
