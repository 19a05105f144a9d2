"""Query-string values of the dashboard's list pages, cleaned the same way on every page."""

from __future__ import annotations

from collections.abc import Mapping

from frontdesk.errors import InvalidInput


def query_text(value: str | None, *, limit: int = 64) -> str | None:
    """A trimmed value cut to ``limit`` characters; ``None`` when empty or absent."""
    value = (value or "").strip()
    return value[:limit] or None


def business_number(params: Mapping[str, str]) -> int | None:
    """The ``business`` filter (a business number), or 422 when it is not one."""
    business = query_text(params.get("business"), limit=20)
    if business is not None and not business.isdigit():
        raise InvalidInput("business is not a business number", field="business")
    return int(business) if business else None
