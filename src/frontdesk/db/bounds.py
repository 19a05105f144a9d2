"""The integer range every id, cursor and business number a request carries must fit.

The database stores them as 64-bit signed integers (``BIGINT``; SQLite's INTEGER): a value
of 2**63 or more does not even bind (SQLite's driver raises ``OverflowError``), so every
edge — API path and query parameters and bodies, dashboard routes, CLI options — declares
its ids with :data:`DbId` and refuses anything else with a 422 before a query runs.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

MAX_BIGINT = 2**63 - 1
"""The largest value of a 64-bit signed integer column."""

DbId = Annotated[int, Ge(1), Le(MAX_BIGINT)]
"""A row id, a cursor (``beforeId``) or a business number: 1 .. 2**63-1."""


def fits_db_id(value: int) -> bool:
    """Whether ``value`` is a possible row id (for edges that parse integers by hand)."""
    return 1 <= value <= MAX_BIGINT
